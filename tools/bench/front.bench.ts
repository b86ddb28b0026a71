import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { FRONT_USAGE, loadFrontBenchConfig, type FrontBenchConfig } from './bench.config';
import { exchange, tcpTarget, waitFor, type Target } from './http.timing';
import { markdownTable, round, summarise } from './latency.stats';
import { Cleanup, log, OutputTail, runWithCleanup, spawnOwn, type Spawned } from './process.runner';

// Compiled to dist/tools/bench/: the repository root is three levels up.
const ROOT = path.resolve(__dirname, '..', '..', '..');
const MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';
// What the proxy sends a workload for a short chat completion.
const BODY = {
  max_tokens: 8,
  temperature: 0.7,
  model: MODEL,
  messages: [{ role: 'user', content: 'Tell me a joke about programming' }],
};
const PATH = '/v1/chat/completions';

class FrontBenchError extends Error {
  readonly code = 'FRONT_BENCH_FAILED';
}

// The calibration row: the least a stdlib asyncio hop can do, one upstream connection per client
// connection and bytes piped both ways, no HTTP parsing and no key check.
const CALIBRATION_PY = `import asyncio, sys
SOCK, PORT = sys.argv[1], int(sys.argv[2])
async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()
async def handle(reader, writer):
    try:
        up_reader, up_writer = await asyncio.open_unix_connection(SOCK)
    except OSError:
        writer.close()
        return
    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", PORT)
    async with server:
        await server.serve_forever()
asyncio.run(main())
`;

function nginxConf(dir: string, sock: string, port: number): string {
  // As root the worker would drop to nobody, who cannot enter the 0700 socket dir.
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  return `${user}worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  upstream sim {
    server unix:${sock};
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://sim;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
    }
  }
}
`;
}

// ---- processes and their CPU time ---------------------------------------------------------------

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((part) => part !== '')
      .map(Number);
  } catch {
    return [];
  }
}

/** utime + stime of a process and its children processes (nginx's worker), in ms. */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  let ticks = 0;
  for (const each of [pid, ...childrenOf(pid)]) {
    try {
      const stat = readFileSync(`/proc/${each}/stat`, 'utf8');
      // Fields after the command name, which may hold spaces: utime and stime are the 12th and 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // Gone: counts nothing.
    }
  }
  return (ticks * 1000) / CLK_TCK;
}

function findExecutable(name: string, env: Record<string, string>): string | undefined {
  const dirs = [...(env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];
  return dirs
    .filter((entry) => path.isAbsolute(entry))
    .map((entry) => path.join(entry, name))
    .find((file) => existsSync(file));
}

/** The first line a `--version`-like flag prints, wherever it prints it (nginx -v: stderr; wrk -v: exit 1). */
function versionOf(command: string, args: string[]): string {
  const result = spawnSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const text = `${result.stdout.toString()}${result.stderr.toString()}`.trim();
  return text.split('\n')[0] ?? 'unknown';
}

function versionText(command: string, args: string[]): string {
  const out = execFileSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return out.toString().trim();
}

// ---- what is measured ---------------------------------------------------------------------------

interface Row {
  key: 'direct' | 'front' | 'nginx' | 'calibration';
  label: string;
  port: number;
  /** The process whose CPU time is charged to the hop; none for the simulator itself. */
  pid: number | undefined;
  target: Target;
}

function check(status: number, body: string, label: string): void {
  if (status !== 200) throw new FrontBenchError(`${label}: HTTP ${status}: ${body.slice(0, 300)}`);
}

const median = (values: readonly number[]): number => {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

interface LatencyRound {
  p50: Record<string, number>;
  cpuPerRequestMs: Record<string, number>;
}

/** c=1: one request to each row per step, the order rotating, so load on the machine hits all alike. */
async function latencyRound(rows: readonly Row[], auth: Record<string, string>, n: number, warmup: number) {
  const samples = new Map<string, number[]>(rows.map((row) => [row.key, []]));
  const cpuBefore = new Map<string, number>();
  for (let step = 0; step < warmup + n; step++) {
    if (step === warmup) for (const row of rows) cpuBefore.set(row.key, cpuMs(row.pid));
    for (let i = 0; i < rows.length; i++) {
      const row = rows[(step + i) % rows.length];
      if (row === undefined) continue;
      const answer = await exchange(row.target, 'POST', PATH, BODY, auth);
      check(answer.status, answer.body, row.label);
      if (step >= warmup) samples.get(row.key)?.push(answer.ms);
    }
  }
  const result: LatencyRound = { p50: {}, cpuPerRequestMs: {} };
  for (const row of rows) {
    result.p50[row.key] = summarise(samples.get(row.key) ?? []).p50;
    result.cpuPerRequestMs[row.key] = (cpuMs(row.pid) - (cpuBefore.get(row.key) ?? Number.NaN)) / n;
  }
  return result;
}

interface WrkResult {
  requests: number;
  requestsPerS: number;
  p50Ms: number;
  non2xx: number;
  socketErrors: number;
  cpuPerRequestMs: number;
}

function wrkMs(value: string, unit: string): number {
  const factor = unit === 'us' ? 0.001 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 1;
  return Number(value) * factor;
}

function runWrk(wrk: string, script: string, row: Row, config: FrontBenchConfig): Promise<WrkResult> {
  const args = [
    '-t1',
    `-c${config.connections}`,
    `-d${config.duration}s`,
    '--latency',
    '-s',
    script,
    `http://127.0.0.1:${row.port}${PATH}`,
  ];
  return new Promise((resolve, reject) => {
    const cpuBefore = cpuMs(row.pid);
    const child = spawn(wrk, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const cpu = cpuMs(row.pid) - cpuBefore;
      const requests = /(\d+) requests in/.exec(out);
      const rate = /Requests\/sec:\s+([\d.]+)/.exec(out);
      const p50 = /^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(out);
      const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
      const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      if (code !== 0 || !requests || !rate) {
        reject(new FrontBenchError(`wrk on ${row.label} exited ${code}: ${out}`));
        return;
      }
      const count = Number(requests[1]);
      resolve({
        requests: count,
        requestsPerS: Number(rate[1]),
        p50Ms: p50 ? wrkMs(p50[1] ?? '', p50[2] ?? '') : Number.NaN,
        non2xx: non2xx ? Number(non2xx[1]) : 0,
        socketErrors: errors ? errors.slice(1).reduce((sum, value) => sum + Number(value), 0) : 0,
        cpuPerRequestMs: cpu / count,
      });
    });
  });
}

/** Keyless idle connections holding the front's slots; one the front evicts comes straight back. */
class KeylessCrowd {
  private readonly sockets = new Set<net.Socket>();
  private active = true;
  evictions = 0;

  constructor(private readonly port: number) {}

  async fill(count: number): Promise<void> {
    for (let opened = 0; opened < count; opened += 64)
      await Promise.all(Array.from({ length: Math.min(64, count - opened) }, () => this.open()));
  }

  get size(): number {
    return this.sockets.size;
  }

  private open(): Promise<void> {
    return new Promise((resolve) => {
      const socket = net.connect(this.port, '127.0.0.1');
      let connected = false;
      socket.on('error', () => undefined);
      socket.once('connect', () => {
        connected = true;
        this.sockets.add(socket);
        resolve();
      });
      socket.once('close', () => {
        this.sockets.delete(socket);
        if (!connected) resolve();
        else if (this.active) {
          this.evictions += 1;
          setImmediate(() => void this.open());
        }
      });
    });
  }

  close(): void {
    this.active = false;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }
}

interface CapRound {
  usual: { keepAlive: number; newConnection: number };
  full: { keepAlive: number; newConnection: number };
  crowd: number;
  evictions: number;
}

async function capRound(port: number, auth: Record<string, string>, n: number, slots: number) {
  const keepAlive = tcpTarget('front, kept-alive keyed connection', `http://127.0.0.1:${port}`);
  const fresh: Target = {
    label: 'front, a new keyed connection per request',
    options: { host: '127.0.0.1', port },
    agent: new http.Agent({ keepAlive: false }),
  };
  const measure = async (): Promise<{ keepAlive: number; newConnection: number }> => {
    const kept: number[] = [];
    const opened: number[] = [];
    for (let i = 0; i < n; i++) {
      const a = await exchange(keepAlive, 'POST', PATH, BODY, auth);
      check(a.status, a.body, keepAlive.label);
      kept.push(a.ms);
      const b = await exchange(fresh, 'POST', PATH, BODY, auth);
      check(b.status, b.body, fresh.label);
      opened.push(b.ms);
    }
    return { keepAlive: summarise(kept).p50, newConnection: summarise(opened).p50 };
  };
  try {
    await measure();
    const usual = await measure();
    // One slot is the kept-alive keyed connection's; the crowd takes every other.
    const crowd = new KeylessCrowd(port);
    try {
      await crowd.fill(slots - 1);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const before = crowd.evictions;
      const full = await measure();
      const result: CapRound = { usual, full, crowd: crowd.size, evictions: crowd.evictions - before };
      return result;
    } finally {
      crowd.close();
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    keepAlive.agent.destroy();
    fresh.agent.destroy();
  }
}

// ---- the run ------------------------------------------------------------------------------------

function osName(): string {
  try {
    const release = readFileSync('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(release)?.[1] ?? os.type();
  } catch {
    return os.type();
  }
}

async function run(config: FrontBenchConfig, cleanup: Cleanup): Promise<void> {
  const tail = new OutputTail();
  const sim = path.join(config.root, 'dist', 'apps', 'vllm-sim', 'src', 'main.js');
  if (!existsSync(sim)) throw new FrontBenchError(`${sim} is missing: run "npm run build" first`);
  const nginx = findExecutable('nginx', config.env);
  const wrk = findExecutable('wrk', config.env);
  const notes: string[] = [];
  if (nginx === undefined) notes.push('nginx not found (apt-get install nginx): its row is skipped');
  if (wrk === undefined) notes.push('wrk not found (apt-get install wrk): the throughput runs are skipped');
  for (const note of notes) log(note);
  const startedAt = new Date();
  const loadBefore = os.loadavg();

  const key = randomBytes(32).toString('base64url');
  const auth = { authorization: `Bearer ${key}` };
  const tmp = mkdtempSync('/tmp/aiplane-bench-front-');
  cleanup.add('remove the temp dir', () => {
    rmSync(tmp, { recursive: true, force: true });
  });
  const sock = path.join(tmp, 'server.sock');
  const simEnv = {
    ...config.env,
    LANG: 'C.UTF-8',
    VLLM_API_KEY: key,
    SIM_STARTUP_DELAY_MS: '0',
    SIM_TTFT_MS: '0',
    SIM_TOKEN_LATENCY_MS: '0',
  };
  const own = (name: string, command: string, args: string[], env: Record<string, string>): Spawned => {
    const spawned = spawnOwn(name, command, args, { cwd: config.root, env }, tail);
    cleanup.add(`stop ${name}`, () => spawned.stop());
    return spawned;
  };
  const started = async (what: string, target: Target, spawned: Spawned): Promise<void> => {
    await waitFor(
      what,
      async () => {
        if (spawned.child.exitCode !== null) throw new FrontBenchError(`${what} exited\n${tail.text()}`);
        return (await exchange(target, 'GET', '/v1/models', undefined, auth)).status === 200;
      },
      20_000,
    );
  };

  // Two simulators, alike but for where they listen: TCP for the direct row (wrk speaks no Unix
  // sockets), and a Unix socket, as the job runs it, behind each proxy.
  const rows: Row[] = [];
  cleanup.add('close the bench connections', () => {
    for (const row of rows) row.target.agent.destroy();
  });
  const add = async (row: Omit<Row, 'target' | 'pid'>, spawned: Spawned, charged: boolean): Promise<void> => {
    const target = tcpTarget(row.label, `http://127.0.0.1:${row.port}`);
    rows.push({ ...row, target, pid: charged ? spawned.child.pid : undefined });
    await started(row.label, target, spawned);
  };
  const directSim = own('vllm-sim (TCP)', process.execPath, [sim], {
    ...simEnv,
    VLLM_HOST: '127.0.0.1',
    VLLM_PORT: String(config.ports.direct),
  });
  await add({ key: 'direct', label: 'vllm-sim direct (TCP)', port: config.ports.direct }, directSim, false);
  const unixSim = own('vllm-sim (unix)', process.execPath, [sim], { ...simEnv, VLLM_UDS: sock });
  const unixTarget: Target = {
    label: 'vllm-sim (unix)',
    options: { socketPath: sock },
    agent: new http.Agent(),
  };
  await started('vllm-sim (unix)', unixTarget, unixSim);
  unixTarget.agent.destroy();

  const front = own(
    'auth_front.py',
    'python3',
    [
      path.join(config.root, 'recipes', 'runtime', 'auth_front.py'),
      '--listen',
      `127.0.0.1:${config.ports.front}`,
      '--upstream-unix',
      sock,
    ],
    { ...config.env, LANG: 'C.UTF-8', VLLM_API_KEY: key },
  );
  await add(
    { key: 'front', label: 'auth_front.py → vllm-sim (unix)', port: config.ports.front },
    front,
    true,
  );

  if (nginx !== undefined) {
    const conf = path.join(tmp, 'nginx.conf');
    writeFileSync(conf, nginxConf(tmp, sock, config.ports.nginx));
    const server = own(
      'nginx',
      nginx,
      ['-p', tmp, '-e', path.join(tmp, 'error.log'), '-c', conf],
      config.env,
    );
    await add({ key: 'nginx', label: 'nginx → vllm-sim (unix)', port: config.ports.nginx }, server, true);
  }

  const script = path.join(tmp, 'calibration.py');
  writeFileSync(script, CALIBRATION_PY);
  const calibration = own('calibration', 'python3', [script, sock, String(config.ports.calibration)], {
    ...config.env,
    LANG: 'C.UTF-8',
  });
  await add(
    {
      key: 'calibration',
      label: 'minimal stdlib asyncio pipe → vllm-sim (unix)',
      port: config.ports.calibration,
    },
    calibration,
    true,
  );
  log(`ready: ${rows.map((row) => `${row.label} :${row.port}`).join(', ')}`);

  const latency: LatencyRound[] = [];
  for (let r = 0; r < config.rounds; r++) {
    latency.push(await latencyRound(rows, auth, config.n, config.warmup));
    log(`c=1 round ${r + 1}/${config.rounds}: ${JSON.stringify(latency[r]?.p50)}`);
  }

  const throughput: Record<string, WrkResult>[] = [];
  if (wrk !== undefined) {
    const lua = path.join(tmp, 'post.lua');
    writeFileSync(
      lua,
      [
        'wrk.method = "POST"',
        `wrk.body = ${JSON.stringify(JSON.stringify(BODY))}`,
        'wrk.headers["Content-Type"] = "application/json"',
        `wrk.headers["Authorization"] = "Bearer ${key}"`,
        '',
      ].join('\n'),
    );
    for (let r = 0; r < config.rounds; r++) {
      const results: Record<string, WrkResult> = {};
      for (let i = 0; i < rows.length; i++) {
        const row = rows[(r + i) % rows.length];
        if (row === undefined) continue;
        // A second to open the connections (nginx's and the front's upstream pools) before measuring.
        await runWrk(wrk, lua, row, { ...config, duration: 1 });
        const result = await runWrk(wrk, lua, row, config);
        if (result.non2xx > 0 || result.socketErrors > 0)
          notes.push(
            `round ${r + 1}, ${row.label}: ${result.non2xx} non-2xx, ${result.socketErrors} socket errors`,
          );
        results[row.key] = result;
      }
      throughput.push(results);
      log(
        `c=${config.connections} round ${r + 1}/${config.rounds}: ${rows.map((row) => `${row.key} ${results[row.key]?.requestsPerS}/s`).join(', ')}`,
      );
    }
  }

  const cap: CapRound[] = [];
  for (let r = 0; r < config.rounds; r++) {
    cap.push(await capRound(config.ports.front, auth, config.capN, 512));
    log(`cap round ${r + 1}/${config.rounds}: ${JSON.stringify(cap[r])}`);
  }
  const loadAfter = os.loadavg();

  // ---- report ----
  const fmt = (value: number, digits = 2): string => (Number.isNaN(value) ? '–' : value.toFixed(digits));
  const latencyRows = rows.map((row) => {
    const p50s = latency.map((entry) => entry.p50[row.key] ?? Number.NaN);
    const added = latency.map(
      (entry) => (entry.p50[row.key] ?? Number.NaN) - (entry.p50.direct ?? Number.NaN),
    );
    const cpu = latency.map((entry) => entry.cpuPerRequestMs[row.key] ?? Number.NaN);
    return {
      key: row.key,
      label: row.label,
      p50s,
      p50: median(p50s),
      added: median(added),
      cpu: median(cpu),
    };
  });
  const throughputRows = rows.map((row) => {
    const rates = throughput.map((entry) => entry[row.key]?.requestsPerS ?? Number.NaN);
    const shares = throughput.map(
      (entry) => (entry[row.key]?.requestsPerS ?? Number.NaN) / (entry.direct?.requestsPerS ?? Number.NaN),
    );
    return {
      key: row.key,
      label: row.label,
      rates,
      rps: median(rates),
      share: median(shares),
      cpu: median(throughput.map((entry) => entry[row.key]?.cpuPerRequestMs ?? Number.NaN)),
      p50: median(throughput.map((entry) => entry[row.key]?.p50Ms ?? Number.NaN)),
    };
  });
  const capRows = (['keepAlive', 'newConnection'] as const).map((kind) => {
    const usual = median(cap.map((entry) => entry.usual[kind]));
    const full = median(cap.map((entry) => entry.full[kind]));
    const delta = median(cap.map((entry) => entry.full[kind] - entry.usual[kind]));
    return { kind, usual, full, delta };
  });
  const frontLatency = latencyRows.find((row) => row.key === 'front');
  const frontThroughput = throughputRows.find((row) => row.key === 'front');
  const worstCap = Math.max(...capRows.map((row) => row.delta));
  const targets = [
    {
      target: 'the front adds ≤ 0.3 ms p50 at c=1',
      observed: `${fmt(frontLatency?.added ?? Number.NaN)} ms`,
      met: (frontLatency?.added ?? Number.NaN) <= 0.3,
    },
    {
      target: `the front keeps ≥ 70 % of the simulator's direct throughput at c=${config.connections}`,
      observed: `${fmt((frontThroughput?.share ?? Number.NaN) * 100, 0)} %`,
      met: (frontThroughput?.share ?? Number.NaN) >= 0.7,
    },
    {
      target: 'with the cap full of keyless connections, a keyed request within 5 ms of its usual p50',
      observed: `${fmt(worstCap)} ms (worst of kept-alive and new connection)`,
      met: worstCap <= 5,
    },
  ];

  const machine = {
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    os: osName(),
    kernel: os.release(),
    node: process.version,
    python: versionText('python3', ['--version']),
    nginx: nginx === undefined ? null : versionOf(nginx, ['-v']),
    wrk: wrk === undefined ? null : versionOf(wrk, ['-v']),
  };
  const result = {
    started_at: startedAt.toISOString(),
    machine,
    load_average: { before: loadBefore.map((v) => round(v)), after: loadAfter.map((v) => round(v)) },
    settings: {
      n: config.n,
      warmup: config.warmup,
      rounds: config.rounds,
      duration_s: config.duration,
      connections: config.connections,
      cap_n: config.capN,
      body: BODY,
    },
    latency_c1: latencyRows.map((row) => ({
      row: row.label,
      p50_ms_per_round: row.p50s.map((v) => round(v, 3)),
      p50_ms: round(row.p50, 3),
      added_p50_ms: round(row.added, 3),
      cpu_ms_per_request: round(row.cpu, 3),
    })),
    throughput: throughputRows.map((row) => ({
      row: row.label,
      requests_per_s_per_round: row.rates.map((v) => round(v, 0)),
      requests_per_s: round(row.rps, 0),
      share_of_direct: round(row.share, 3),
      cpu_ms_per_request: round(row.cpu, 3),
      wrk_p50_ms: round(row.p50, 2),
    })),
    cap_full: { rounds: cap, summary: capRows },
    targets,
    notes,
  };
  mkdirSync(path.dirname(config.outFile), { recursive: true });
  writeFileSync(config.outFile, `${JSON.stringify(result, null, 2)}\n`);

  const out = [
    `## front bench, ${result.started_at}`,
    '',
    `${machine.cpus} CPUs (${machine.cpu_model}), ${machine.memory_gib} GiB, ${machine.os}, kernel ${machine.kernel}, ` +
      `node ${machine.node}, ${machine.python}, ${machine.nginx ?? 'no nginx'}, ${machine.wrk ?? 'no wrk'}; ` +
      `load average ${loadBefore.map((v) => v.toFixed(2)).join(' ')} → ${loadAfter.map((v) => v.toFixed(2)).join(' ')}`,
    '',
    `### c=1: p50 latency (ms), ${config.rounds} interleaved rounds of n=${config.n} after ${config.warmup} warm-up`,
    '',
    markdownTable(
      ['path', 'p50 per round', 'p50 (median)', 'added over direct', 'CPU ms/request'],
      latencyRows.map((row) => [
        row.label,
        row.p50s.map((v) => fmt(v, 3)).join(' / '),
        fmt(row.p50, 3),
        row.key === 'direct' ? '–' : fmt(row.added, 3),
        row.key === 'direct' ? '–' : fmt(row.cpu, 3),
      ]),
    ),
    '',
    ...(throughput.length === 0
      ? []
      : [
          `### c=${config.connections}: throughput (wrk, ${config.duration} s per run, ${config.rounds} rounds)`,
          '',
          markdownTable(
            ['path', 'req/s per round', 'req/s (median)', 'of direct', 'CPU ms/request', 'wrk p50 ms'],
            throughputRows.map((row) => [
              row.label,
              row.rates.map((v) => fmt(v, 0)).join(' / '),
              fmt(row.rps, 0),
              `${fmt(row.share * 100, 0)} %`,
              row.key === 'direct' ? '–' : fmt(row.cpu, 3),
              fmt(row.p50),
            ]),
          ),
          '',
        ]),
    `### The front's connection cap (512) full of keyless idle connections: keyed request p50 (ms)`,
    '',
    markdownTable(
      ['keyed request', 'usual', 'cap full', 'difference (median of rounds)', 'evictions per round'],
      capRows.map((row) => [
        row.kind === 'keepAlive' ? 'on its kept-alive connection' : 'on a new connection each',
        fmt(row.usual, 3),
        fmt(row.full, 3),
        fmt(row.delta, 3),
        cap.map((entry) => String(entry.evictions)).join(' / '),
      ]),
    ),
    '',
    '### Targets',
    '',
    markdownTable(
      ['target', 'observed', 'status'],
      targets.map((entry) => [entry.target, entry.observed, entry.met ? 'met' : 'NOT met']),
    ),
    '',
    ...notes.map((note) => `- ${note}`),
    '',
    `JSON: ${path.relative(config.root, config.outFile)}`,
    '',
  ];
  process.stdout.write(out.join('\n'));
}

async function main(): Promise<void> {
  const config = loadFrontBenchConfig(ROOT);
  if (config.help) {
    process.stdout.write(FRONT_USAGE);
    return;
  }
  await runWithCleanup((cleanup) => run(config, cleanup));
}

main().catch((error: unknown) => {
  log(`failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
