import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnsafePathError } from './private-files.errors';
import {
  ensurePrivateDir,
  ensurePrivateSubdir,
  openPrivateFile,
  readPrivateFile,
} from './private-files.storage';

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

describe('private files', () => {
  let dir: string;
  let secret: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'aiplane-private-'));
    secret = join(dir, 'id_ed25519');
    writeFileSync(secret, 'PRIVATE KEY\n', { mode: 0o600 });
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads a regular file, and nothing for a missing one', async () => {
    writeFileSync(join(dir, 'endpoint'), 'http://node:8000\n');
    expect((await readPrivateFile(join(dir, 'endpoint'), 1024))?.toString()).toBe('http://node:8000\n');
    expect(await readPrivateFile(join(dir, 'absent'), 1024)).toBeUndefined();
    expect((await readPrivateFile(join(dir, 'endpoint'), 4))?.toString()).toBe('http');
  });

  it('never follows a planted symlink', async () => {
    symlinkSync(secret, join(dir, 'stdout.log'));
    const error: unknown = await openPrivateFile(join(dir, 'stdout.log')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsafePathError);
    expect(error).toMatchObject({ reason: 'symlink', message: expect.stringContaining('symbolic link') });
  });

  it('refuses a planted FIFO at once instead of blocking on it', async () => {
    execFileSync('mkfifo', [join(dir, 'stdout.log')]);
    const started = Date.now();
    const error: unknown = await openPrivateFile(join(dir, 'stdout.log')).catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: 'not-regular', message: expect.stringContaining('a FIFO') });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('refuses a directory in place of a file', async () => {
    mkdirSync(join(dir, 'stdout.log'));
    await expect(openPrivateFile(join(dir, 'stdout.log'))).rejects.toMatchObject({ reason: 'not-regular' });
  });

  (asRoot ? it : it.skip)("refuses another user's file", async () => {
    chownSync(secret, NOBODY, NOBODY);
    await expect(openPrivateFile(secret)).rejects.toMatchObject({ reason: 'foreign-owner' });
  });

  describe('ensurePrivateDir', () => {
    it('creates a missing directory 0700 and narrows a readable one', async () => {
      const fresh = join(dir, 'state', 'nested');
      await ensurePrivateDir(fresh);
      expect(statSync(fresh).mode & 0o777).toBe(0o700);
      const readable = join(dir, 'readable');
      mkdirSync(readable);
      chmodSync(readable, 0o755);
      await ensurePrivateDir(readable);
      expect(statSync(readable).mode & 0o777).toBe(0o700);
    });

    it('refuses a directory others can write', async () => {
      const shared = join(dir, 'shared');
      mkdirSync(shared);
      chmodSync(shared, 0o777);
      await expect(ensurePrivateDir(shared)).rejects.toMatchObject({
        reason: 'shared-writable',
        message: expect.stringContaining('writable by group or others (mode 777)'),
      });
      chmodSync(shared, 0o770);
      await expect(ensurePrivateDir(shared)).rejects.toMatchObject({ reason: 'shared-writable' });
    });

    (asRoot ? it : it.skip)('refuses a directory another user owns', async () => {
      const foreign = join(dir, 'foreign');
      mkdirSync(foreign, { mode: 0o700 });
      chownSync(foreign, NOBODY, NOBODY);
      await expect(ensurePrivateDir(foreign)).rejects.toMatchObject({
        reason: 'foreign-owner',
        message: expect.stringContaining(`uid ${NOBODY}`),
      });
    });

    it('refuses a file in its place', async () => {
      await expect(ensurePrivateDir(secret)).rejects.toMatchObject({ reason: 'not-directory' });
    });
  });

  describe('ensurePrivateSubdir', () => {
    it('creates job dirs 0700 below the root', async () => {
      await ensurePrivateSubdir(dir, join(dir, 'jobs', 'abc', 'n0'));
      expect(statSync(join(dir, 'jobs', 'abc', 'n0')).mode & 0o777).toBe(0o700);
    });

    it('refuses a symlink at any level below the root', async () => {
      mkdirSync(join(dir, 'jobs'));
      const elsewhere = mkdtempSync(join(tmpdir(), 'aiplane-elsewhere-'));
      try {
        symlinkSync(elsewhere, join(dir, 'jobs', 'abc'));
        await expect(ensurePrivateSubdir(dir, join(dir, 'jobs', 'abc', 'n0'))).rejects.toMatchObject({
          reason: 'symlink',
          path: join(dir, 'jobs', 'abc'),
        });
      } finally {
        rmSync(elsewhere, { recursive: true, force: true });
      }
    });

    it('refuses a path outside the root', async () => {
      await expect(ensurePrivateSubdir(join(dir, 'a'), join(dir, 'b'))).rejects.toBeInstanceOf(
        UnsafePathError,
      );
    });
  });
});
