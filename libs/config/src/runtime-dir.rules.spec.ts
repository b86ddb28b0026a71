import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  defaultRuntimeDir,
  ensurePrivateDir,
  RuntimeDirError,
  SOCKET_PATH_MAX_BYTES,
  socketPathIn,
  writePrivateFile,
} from './runtime-dir.rules';

describe('the runtime directory', () => {
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'runtime-dir-'));
  });

  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it("defaults to the session's runtime dir, else under the home directory, never /tmp", () => {
    expect(defaultRuntimeDir({ XDG_RUNTIME_DIR: '/run/user/1000', HOME: '/home/a' })).toBe(
      '/run/user/1000/aiplane',
    );
    expect(defaultRuntimeDir({ HOME: '/home/a' })).toBe('/home/a/.aiplane/run');
  });

  it('is created 0700, parents included', () => {
    const dir = ensurePrivateDir(path.join(root, 'a', 'b'));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(root, 'a')).mode & 0o777).toBe(0o700);
  });

  it('refuses one others can enter, without changing its mode', () => {
    const dir = path.join(root, 'open');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    expect(() => ensurePrivateDir(dir)).toThrow(/open to other users \(mode 0755\): chmod 700 it/);
    expect(statSync(dir).mode & 0o777).toBe(0o755);
  });

  it('refuses one others can write, and a symlink', () => {
    const shared = path.join(root, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o777);
    expect(() => ensurePrivateDir(shared)).toThrow(RuntimeDirError);
    expect(() => ensurePrivateDir(shared)).toThrow(/writable by other users \(mode 0777\)/);
    const link = path.join(root, 'link');
    symlinkSync(path.join(root), link);
    expect(() => ensurePrivateDir(link)).toThrow(/not a symlink/);
  });

  it('refuses one another user owns, leaving it as it is', () => {
    const theirs = path.join(root, 'theirs');
    mkdirSync(theirs, { mode: 0o755 });
    // Only root can give a directory away; as anyone else, a directory of root's stands in.
    const owned = process.getuid?.() === 0 ? theirs : '/usr';
    if (owned === theirs) chownSync(theirs, 65534, 65534);
    expect(() => ensurePrivateDir(owned)).toThrow(/belongs to uid \d+, not to this user/);
    expect(statSync(owned).mode & 0o777).toBe(0o755);
  });

  it('refuses a socket path over the sun_path limit, naming both lengths', () => {
    const long = path.join(root, 'x'.repeat(SOCKET_PATH_MAX_BYTES));
    expect(() => socketPathIn(long, 'orchestrator.sock')).toThrow(/over the 107-byte limit/);
    expect(socketPathIn(root, 'proxy.sock')).toBe(path.join(root, 'proxy.sock'));
  });

  it('writes private files whole, 0600', () => {
    const file = path.join(root, 'connection.json');
    writePrivateFile(file, '{"token":"t"}');
    writePrivateFile(file, '{"token":"u"}');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});
