import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from '@aiplane/testing';

/**
 * `npm start` with a state dir another user could write: it must refuse before its private Redis
 * (password file, socket) goes in there, since the other user could swap that socket for theirs.
 */
describe('start-stack: the state dir', () => {
  const script = path.join(ROOT, 'dist', 'tools', 'stack', 'start-stack.js');
  const made: string[] = [];
  const tempDir = (label: string): string => {
    const dir = mkdtempSync(path.join(os.tmpdir(), `aiplane-start-${label}-`));
    made.push(dir);
    return dir;
  };

  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });

  function startWith(stateDir: string): { status: number | null; output: string } {
    if (!existsSync(script)) throw new Error(`${script} is missing: npm run build first`);
    const result = spawnSync(process.execPath, [script], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: tempDir('home'),
        AIPLANE_ROOT: ROOT,
        AIPLANE_STATE_DIR: stateDir,
        AIPLANE_RUNTIME_DIR: path.join(tempDir('run'), 'aiplane'),
        GATEWAY_PORT: '0',
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  it('refuses a state dir others can write, and puts no Redis in it', () => {
    const stateDir = tempDir('shared');
    chmodSync(stateDir, 0o777);
    const result = startWith(stateDir);
    expect(result.status).toBe(1);
    expect(result.output).toContain(`AIPLANE_STATE_DIR refused: ${stateDir} is writable by group or others`);
    expect(readdirSync(stateDir)).toEqual([]);
  });

  it('refuses a state dir another user owns (one a co-tenant made first), and puts no Redis in it', () => {
    const stateDir = tempDir('foreign');
    chmodSync(stateDir, 0o700);
    chownSync(stateDir, 65534, 65534);
    const result = startWith(stateDir);
    expect(result.status).toBe(1);
    expect(result.output).toContain(`AIPLANE_STATE_DIR refused: ${stateDir} belongs to uid 65534`);
    expect(readdirSync(stateDir)).toEqual([]);
  });
});
