import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { freeJobPort } from '@aiplane/testing';

import { renderBatchScript } from './batch-script.render';
import { mergeConfig } from './config.merge';
import { parseRecipe, type Recipe } from './recipe.schema';

// Issue 11 item 8: nothing of a job outlives it, whatever tracks its processes. A cancelled job's
// auth_front.py was seen on real SLURM (proctrack/linuxproc) still holding its port with parent pid
// 1, two minutes later. The rendered script, the front and the simulators each make sure of it; these
// run them for real and look in /proc afterwards.
const ROOT = resolve(__dirname, '..', '..', '..');
const FRONT = join(ROOT, 'recipes', 'runtime', 'auth_front.py');

// The workload leaves behind what escapes parent-link tracking: a double-forked child in a session of
// its own (reparented, outside the job's process group), one that ignores SIGTERM (so only SIGKILL
// ends it), and a listener on the job's port, so the test can see the port freed.
const LEAVER_COMMAND = `(setsid bash -c 'echo "$$" >"$AIPLANE_JOB_DIR/orphan.pid"; exec sleep 300' &)
(trap '' TERM; echo "$BASHPID" >"$AIPLANE_JOB_DIR/stubborn.pid"; exec sleep 300) &
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(float(sys.argv[2]))' "$VLLM_PORT" "\${LEAVER_LISTEN_SECONDS:-300}" &
wait "$!"`;

function leaverRecipe(basePort: number): Recipe {
  const indented = LEAVER_COMMAND.split('\n')
    .map((line) => `      ${line}`)
    .join('\n');
  return parseRecipe(
    `name: leaver
description: a workload that leaves processes behind
version: '1.0.0'
kind: vllm
resources: { nodes: 1, cpu: 1, memory: 100M, time_limit: 5, gpu: 0 }
ports: { base: ${basePort} }
readiness: { path: /health }
environment: { VLLM_MODEL: m }
runtime:
  cluster:
    image: docker://example/unused:1
    command: |
${indented}
  local:
    command: |
${indented}
`,
    'test/leaver.yaml',
  );
}

/** Live (not zombie) processes whose environment holds exactly `entry`. */
function marked(entry: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, 'utf8').split('\0').includes(entry)) found.push(Number(name));
    } catch {
      // Ended while we looked.
    }
  }
  return found;
}

function ppidOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

function ignoresTerm(pid: number): boolean {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mask = /^SigIgn:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? '0';
  return (BigInt(`0x${mask}`) & (1n << 14n)) !== 0n;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !['Z', 'X'].includes(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
  } catch {
    return false;
  }
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Whether the port can be bound again: nothing, the job's or anyone's, listens on it. */
async function portFree(port: number): Promise<boolean> {
  const server: Server = createServer();
  try {
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    return true;
  } catch {
    return false;
  } finally {
    server.close();
  }
}

// This file's own port lock: jobs of other suites running beside it are another node's.
const RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'aiplane-reap-run-'));
afterAll(() => {
  rmSync(RUNTIME_DIR, { recursive: true, force: true });
});

describe('a rendered batch script reaps every process of its job', () => {
  let jobDir: string;
  let port: number;
  const started: number[] = [];

  beforeEach(async () => {
    jobDir = mkdtempSync(join(tmpdir(), 'aiplane-reap-'));
    port = await freeJobPort();
  });
  afterEach(() => {
    // Whatever a failing test left: it must not outlive the suite either.
    for (const script of started.splice(0))
      for (const pid of marked(`AIPLANE_JOB_PID=${script}`)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone since.
        }
      }
    rmSync(jobDir, { recursive: true, force: true });
  });

  function start(env: Record<string, string>) {
    const recipe = leaverRecipe(port);
    const config = mergeConfig(recipe, undefined);
    const script = join(jobDir, 'job.sh');
    writeFileSync(script, renderBatchScript({ recipe, config, profile: 'local', jobName: 'leaver', jobDir }));
    const child = spawn('bash', [script], {
      env: {
        PATH: process.env.PATH,
        XDG_RUNTIME_DIR: RUNTIME_DIR,
        AIPLANE_ENDPOINT_HOST: '127.0.0.1',
        AIPLANE_KILL_GRACE: '2',
        ...config.environment,
        ...env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    if (child.pid === undefined) throw new Error('bash did not start');
    started.push(child.pid);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const done = once(child, 'close').then(([code]) => ({ code: code as number | null, stderr }));
    return { child, marker: `AIPLANE_JOB_PID=${child.pid}`, done };
  }

  const pidIn = (name: string): number | undefined => {
    const file = join(jobDir, name);
    const text = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
    return text === '' ? undefined : Number(text);
  };

  /** Until the workload is all up: the port taken, both leftovers started. */
  async function running(child: ChildProcess, marker: string) {
    const orphan = await until('the double-forked child', () => pidIn('orphan.pid'));
    const stubborn = await until('the TERM-ignoring child', () => pidIn('stubborn.pid'));
    await until('the listener', () => (existsSync(join(jobDir, 'endpoint')) ? true : undefined));
    await until('the listener and both leftovers', () => (marked(marker).length >= 4 ? true : undefined));
    const deadline = Date.now() + 15_000;
    while ((await portFree(port)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    // The premises: the orphan really left the script's tree, the other really ignores SIGTERM.
    expect(ppidOf(orphan)).not.toBe(child.pid);
    expect(marked(marker)).toContain(orphan);
    expect(ignoresTerm(stubborn)).toBe(true);
    expect(await portFree(port)).toBe(false); // the listener has it
    return { orphan, stubborn };
  }

  it('on SIGTERM: every marked process ends, SIGKILL after the grace, then exit_code 143 and the port free', async () => {
    const { child, marker, done } = start({});
    const { orphan, stubborn } = await running(child, marker);
    const before = marked(marker).length;

    const began = Date.now();
    child.kill('SIGTERM');
    const { code, stderr } = await done;
    const took = Date.now() - began;

    expect(code).toBe(143);
    expect(readFileSync(join(jobDir, 'exit_code'), 'utf8')).toBe('143\n');
    expect(marked(marker)).toEqual([]);
    expect([alive(orphan), alive(stubborn)]).toEqual([false, false]);
    expect(await portFree(port)).toBe(true);
    // The stubborn one held the job for the grace (2 s), not for SLURM's KillWait.
    expect(took).toBeGreaterThanOrEqual(1_900);
    expect(took).toBeLessThan(8_000);
    expect(stderr).toMatch(/aiplane: SIGKILL to what outlived SIGTERM by 2 s: pids .*\b\d+\b/);
    process.stdout.write(
      `reaping int-spec: SIGTERM, ${before} marked processes before, 0 after, ${took} ms\n`,
    );
  });

  it('when the workload ends by itself, what it left behind ends before exit_code is written', async () => {
    const { child, marker, done } = start({ LEAVER_LISTEN_SECONDS: '1' });
    const { orphan, stubborn } = await running(child, marker);

    const { code } = await done;

    expect(code).toBe(0);
    expect(readFileSync(join(jobDir, 'exit_code'), 'utf8')).toBe('0\n');
    expect(marked(marker)).toEqual([]);
    expect([alive(orphan), alive(stubborn)]).toEqual([false, false]);
    expect(await portFree(port)).toBe(true);
  });

  it('a second SIGTERM during the cleanup does not cut it short', async () => {
    const { child, marker, done } = start({});
    await running(child, marker);

    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
    const { code } = await done;

    expect(code).toBe(143);
    expect(marked(marker)).toEqual([]);
  });
});

describe('auth_front.py ends with its job', () => {
  let dir: string;
  let upstream: Server;
  let socketPath: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aiplane-front-reap-'));
    socketPath = join(dir, 'slow.sock');
    // An upstream that answers after a second: a request in flight when the front is stopped.
    upstream = createHttpServer((_req, res) => {
      setTimeout(() => res.end('slow answer'), 1_000);
    }).listen(socketPath);
    await once(upstream, 'listening');
  });
  afterAll(() => {
    upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const KEY = 'reap-test-key';

  async function listening(port: number): Promise<boolean> {
    const socket = connect(port, '127.0.0.1');
    try {
      await once(socket, 'connect');
      return true;
    } catch {
      return false;
    } finally {
      socket.destroy();
    }
  }

  function get(port: number): Promise<{ status: number; body: string }> {
    return new Promise((resolveAnswer, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, path: '/slow', headers: { authorization: `Bearer ${KEY}` } },
        (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => {
            resolveAnswer({ status: res.statusCode ?? 0, body });
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  it('on SIGTERM closes its listener at once and lets a request in flight finish', async () => {
    const port = await freeJobPort();
    const front = spawn('python3', [FRONT, `--listen=127.0.0.1:${port}`, `--upstream-unix=${socketPath}`], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', VLLM_API_KEY: KEY, AUTH_FRONT_DRAIN_TIMEOUT: '3' },
      stdio: 'ignore',
    });
    const exited = once(front, 'exit');
    try {
      const deadline = Date.now() + 10_000;
      while (!(await listening(port)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));

      const inFlight = get(port);
      await new Promise((r) => setTimeout(r, 300));
      front.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 200));

      expect(await listening(port)).toBe(false);
      expect(await inFlight).toEqual({ status: 200, body: 'slow answer' });
      const [code] = (await exited) as [number | null];
      expect(code).toBe(0);
    } finally {
      front.kill('SIGKILL');
    }
  });

  it.each(['SIGKILL'])('exits, freeing its port, when its parent dies (%s), reparented', async (signal) => {
    const port = await freeJobPort();
    const parent = spawn(
      'bash',
      [
        '-c',
        'python3 "$0" --listen="127.0.0.1:$1" --upstream-unix="$2" & echo "$!"; wait',
        FRONT,
        String(port),
        socketPath,
      ],
      {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', VLLM_API_KEY: KEY },
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    let out = '';
    parent.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const frontPid = await until('the front pid', () =>
      out.includes('\n') ? Number(out.trim()) : undefined,
    );
    try {
      const deadline = Date.now() + 10_000;
      while (!(await listening(port)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await listening(port)).toBe(true);

      parent.kill(signal as NodeJS.Signals);
      const began = Date.now();
      await until('the front to exit', () => (alive(frontPid) ? undefined : true), 8_000);

      expect(await listening(port)).toBe(false);
      expect(Date.now() - began).toBeLessThan(5_000);
    } finally {
      if (alive(frontPid)) process.kill(frontPid, 'SIGKILL');
    }
  });
});
