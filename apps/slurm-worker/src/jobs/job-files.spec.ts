import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readEndpoint, readExitCode } from './job-files';

describe('job files', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'aiplane-job-files-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads what the batch script wrote', async () => {
    writeFileSync(join(dir, 'endpoint.1'), 'http://node-1:8002\n');
    writeFileSync(join(dir, 'exit_code'), '0\n');
    await expect(readEndpoint(dir, 1)).resolves.toBe('http://node-1:8002');
    await expect(readExitCode(dir)).resolves.toBe(0);
  });

  it('takes a planted symlink or FIFO for no file at all, without following or blocking', async () => {
    const elsewhere = join(dir, 'attacker-endpoint');
    writeFileSync(elsewhere, 'http://attacker:9999\n');
    symlinkSync(elsewhere, join(dir, 'endpoint'));
    execFileSync('mkfifo', [join(dir, 'exit_code')]);

    await expect(readEndpoint(dir)).resolves.toBeUndefined();
    await expect(readExitCode(dir)).resolves.toBeUndefined();
  });
});
