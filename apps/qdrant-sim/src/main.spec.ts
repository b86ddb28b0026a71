import { transformFileSync, type Options } from '@swc/core';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// main.ts only runs as a process, so it is compiled the way the build does it (swc, the repository's .swcrc) and
// started for real: the only way to see how it reacts to signals.
const ROOT = resolve(__dirname, '../../..');
// The simulator and the shared lib it imports, laid out below the build folder as dist/ lays them out, so the
// relative paths swc writes for the aliases resolve.
const SOURCE_DIRS = ['apps/qdrant-sim/src', 'libs/config/src'];

let buildDir: string;
const children: ChildProcess[] = [];
const dirs: string[] = [];

async function swcOptions(): Promise<Options> {
  const swcrc = JSON.parse(await readFile(join(ROOT, '.swcrc'), 'utf8')) as Options & {
    $schema?: string;
    jsc: { baseUrl?: string; paths?: unknown };
  };
  delete swcrc.$schema;
  swcrc.jsc.baseUrl = ROOT;
  return { ...swcrc, swcrc: false, sourceMaps: false };
}

beforeAll(async () => {
  buildDir = await mkdtemp(join(tmpdir(), 'qdrant-sim-main-'));
  const options = await swcOptions();
  for (const dir of SOURCE_DIRS) {
    await mkdir(join(buildDir, dir), { recursive: true });
    const sources = (await readdir(join(ROOT, dir))).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'),
    );
    for (const source of sources) {
      const { code } = transformFileSync(join(ROOT, dir, source), options);
      await writeFile(join(buildDir, dir, source.replace(/\.ts$/, '.js')), code);
    }
  }
});

afterAll(async () => {
  await rm(buildDir, { recursive: true, force: true });
});

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

interface Started {
  child: ChildProcess;
  base: string;
  output: () => string;
}

async function run(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, [join(buildDir, 'apps/qdrant-sim/src/main.js')], {
    env: {
      PATH: process.env.PATH ?? '',
      // The build lives in a temporary folder; its imports (zod, prom-client) resolve from the repository.
      NODE_PATH: join(ROOT, 'node_modules'),
      QDRANT__SERVICE__HOST: '127.0.0.1',
      QDRANT__SERVICE__HTTP_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  const collect = (chunk: Buffer): void => {
    output += chunk.toString();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const port = await new Promise<string>((resolvePort, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no start line in:\n${output}`));
    }, 10_000);
    const check = (): void => {
      const match = / on 127\.0\.0\.1:(\d+) /.exec(output);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolvePort(match[1]);
      }
    };
    child.stdout.on('data', check);
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`exited early:\n${output}`));
    });
  });
  return { child, base: `http://127.0.0.1:${port}`, output: () => output };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Running, not a zombie: an orphan is reaped by init, which in a container may be slow. */
function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !['Z', 'X'].includes(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
  } catch {
    return false;
  }
}

async function stop(
  child: ChildProcess,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; ms: number }> {
  const began = performance.now();
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  child.kill(signal);
  const [code] = await exited;
  return { code, ms: performance.now() - began };
}

const put = (url: string, body: unknown): Promise<Response> =>
  fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('main', () => {
  it('exits 0 within a second on SIGTERM, keeping unwaited writes for the next start', async () => {
    const storage = await mkdtemp(join(tmpdir(), 'qdrant-sim-main-storage-'));
    dirs.push(storage);
    const env = { QDRANT__STORAGE__STORAGE_PATH: storage, QDRANT__SERVICE__GRPC_PORT: '6334' };
    const first = await run(env);
    expect(
      (await put(`${first.base}/collections/docs`, { vectors: { size: 2, distance: 'Dot' } })).status,
    ).toBe(200);
    const upsert = await put(`${first.base}/collections/docs/points`, {
      points: [{ id: 1, vector: [1, 2] }],
    });
    expect(upsert.status).toBe(200);

    const { code, ms } = await stop(first.child, 'SIGTERM');
    expect(code).toBe(0);
    expect(ms).toBeLessThan(1000);
    expect(first.output()).toContain('qdrant-sim: SIGTERM received, shutting down');

    const second = await run(env);
    const point = (await (await fetch(`${second.base}/collections/docs/points/1`)).json()) as {
      result: { id: number; vector: number[] };
    };
    expect(point.result).toEqual({ id: 1, payload: {}, vector: [1, 2] });
    expect((await stop(second.child, 'SIGINT')).code).toBe(0);
  }, 20_000);

  // Issue 11 item 8: a simulator whose job script was killed outright must not outlive the job.
  it('shuts down when its parent dies, having been reparented', async () => {
    const storage = await mkdtemp(join(tmpdir(), 'qdrant-sim-main-orphan-'));
    dirs.push(storage);
    const parent = spawn(
      'bash',
      ['-c', '"$0" "$1" & echo "$!"; wait', process.execPath, join(buildDir, 'apps/qdrant-sim/src/main.js')],
      {
        env: {
          PATH: process.env.PATH ?? '',
          NODE_PATH: join(ROOT, 'node_modules'),
          QDRANT__SERVICE__HOST: '127.0.0.1',
          QDRANT__SERVICE__HTTP_PORT: '0',
          QDRANT__STORAGE__STORAGE_PATH: storage,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(parent);
    let output = '';
    parent.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    parent.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 10_000;
    while (!/ on 127\.0\.0\.1:\d+ /.test(output) && Date.now() < deadline) await sleep(25);
    const simPid = Number(output.split('\n')[0]);
    expect(processAlive(simPid)).toBe(true);

    parent.kill('SIGKILL');
    const began = performance.now();
    while (processAlive(simPid) && performance.now() - began < 5_000) await sleep(25);

    expect(processAlive(simPid)).toBe(false);
    expect(output).toMatch(/qdrant-sim: parent process \d+ is gone, shutting down/);
  }, 20_000);

  it('exits 1 with a message naming a bad variable', async () => {
    const child = spawn(process.execPath, [join(buildDir, 'apps/qdrant-sim/src/main.js')], {
      env: { NODE_PATH: join(ROOT, 'node_modules'), QDRANT__SERVICE__HTTP_PORT: 'http' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(stderr).toContain('QDRANT__SERVICE__HTTP_PORT="http"');
  });
});
