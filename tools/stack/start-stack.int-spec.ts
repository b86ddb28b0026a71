import { spawn, spawnSync } from 'node:child_process';
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

/** `npm start -- --slurm` (issue 11 item 1): the flag, its usage, and a clear refusal without SLURM. */
describe('start-stack: its arguments', () => {
  const script = path.join(ROOT, 'dist', 'tools', 'stack', 'start-stack.js');
  const home = mkdtempSync(path.join(os.tmpdir(), 'aiplane-start-args-'));
  afterAll(() => {
    rmSync(home, { recursive: true, force: true });
  });

  function start(args: string[], PATH = process.env.PATH ?? '/usr/bin:/bin') {
    const result = spawnSync(process.execPath, [script, ...args], {
      env: {
        PATH,
        HOME: home,
        AIPLANE_ROOT: ROOT,
        AIPLANE_STATE_DIR: path.join(home, 'state'),
        AIPLANE_RUNTIME_DIR: path.join(home, 'run'),
        GATEWAY_PORT: '0',
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  it('--help prints the usage, naming --slurm and what it needs, and starts nothing', () => {
    const result = start(['--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('--slurm');
    expect(result.stdout).toContain('tools/infra/up.sh slurm');
    expect(existsSync(path.join(home, 'state'))).toBe(false);
  });

  it('refuses an unknown flag with exit 2, naming it', () => {
    const result = start(['--slurmm']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('unknown argument "--slurmm"');
  });

  it('--slurm without a reachable SLURM stops before starting anything, saying what it needs', () => {
    const result = start(['--slurm'], path.join(home, 'no-such-bin'));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("--slurm needs this machine's SLURM");
    expect(result.stderr).toContain('scontrol not found');
    expect(existsSync(path.join(home, 'state'))).toBe(false);
  });

  it('--slurm starts the whole stack with its worker on SLURM, on a free gateway port', async () => {
    const child = spawn(process.execPath, [script, '--slurm'], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: home,
        AIPLANE_ROOT: ROOT,
        AIPLANE_STATE_DIR: path.join(home, 'slurm-state'),
        AIPLANE_RUNTIME_DIR: path.join(home, 'slurm-run'),
        GATEWAY_PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const deadline = Date.now() + 60_000;
      while (!output.includes('Ready: gateway') && child.exitCode === null && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 200));
      expect(output).toContain('Ready: gateway http://127.0.0.1:');
      expect(output).not.toContain('127.0.0.1:8001/');
      // npm start's own format: one line per entry, `HH:MM:ss app LEVEL message key=value`.
      expect(output).toMatch(
        /\d\d:\d\d:\d\d slurm-worker\s+INFO slurm-worker consuming the scheduler queue .*scheduler=slurm/,
      );
      expect(output).not.toContain('Mapped {');
    } finally {
      child.kill('SIGINT');
      await exited;
    }
  }, 90_000);
});
