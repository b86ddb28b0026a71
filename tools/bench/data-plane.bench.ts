import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRedis, ServiceRegistry } from '@aiplane/registry';
import { LocalScheduler } from '@aiplane/scheduler';
import { ProcessSupervisor, startStack, type RunningStack } from '@aiplane/stack';
import { loadBenchConfig, USAGE, type BenchConfig } from './bench.config';
import { exchange, exchangeJson, tcpTarget, unixTarget, waitFor, type Exchange } from './http.timing';
import { markdownTable, round, summarise, type LatencySummary } from './latency.stats';
import { findJobProcesses, readEnvironment, readMemory, type ProcessMemory } from './process.memory';

// Compiled to dist/tools/bench/: the repository root is three levels up.
const ROOT = path.resolve(__dirname, '..', '..', '..');
const RECIPE = 'inference/vllm-single-node';
const CREATE_BODY = { recipe_name: RECIPE, config: { resources: { gpu: 0, cpu: '1', memory: '1G' } } };
const MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';
const PROMPT = 'Tell me a joke about programming';
const STACK_APPS = ['gateway', 'orchestrator', 'proxy', 'health-prober', 'slurm-worker'] as const;

class BenchError extends Error {
  readonly code = 'BENCH_FAILED';
}

/** Undo steps, run once, newest first, each on its own so one failure does not skip the rest. */
class Cleanup {
  private readonly steps: { name: string; run: () => Promise<void> | void }[] = [];
  private running: Promise<void> | undefined;

  add(name: string, run: () => Promise<void> | void): void {
    this.steps.push({ name, run });
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of [...this.steps].reverse()) {
        try {
          await step.run();
        } catch (error) {
          log(`cleanup: ${step.name} failed: ${message(error)}`);
        }
      }
    })();
    return this.running;
  }
}

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The last lines every started process printed, shown when something fails. */
class OutputTail {
  private readonly lines: string[] = [];

  constructor(private readonly limit = 200) {}

  push(name: string, line: string): void {
    this.lines.push(`${name}: ${line}`);
    if (this.lines.length > this.limit) this.lines.shift();
  }

  text(): string {
    return this.lines.join('\n');
  }
}

interface Spawned {
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts one of the bench's own processes; stop() is SIGTERM, then SIGKILL after 5 s. */
function spawnOwn(
  name: string,
  command: string,
  args: string[],
  env: Record<string, string>,
  tail: OutputTail,
): Spawned {
  // stdout to /dev/null as a job's goes to its log file; stderr kept for failures.
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) if (line !== '') tail.push(name, line);
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  return {
    child,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
      }, 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function tcpReachable(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => {
      done(false);
    });
    socket.once('connect', () => {
      done(true);
    });
    socket.once('error', () => {
      done(false);
    });
  });
}

// ---- what is measured ---------------------------------------------------------------------------

interface Hop {
  key: string;
  label: string;
  /** The hop whose p50 this one is compared with ("added cost"). */
  base: string | undefined;
  send: () => Promise<Exchange>;
  check: (answer: Exchange) => string | undefined;
}

function openAiCheck(answer: Exchange): string | undefined {
  if (answer.status !== 200) return `HTTP ${answer.status}: ${answer.body.slice(0, 300)}`;
  const body = JSON.parse(answer.body) as { choices?: { message?: { content?: unknown } }[] };
  return typeof body.choices?.[0]?.message?.content === 'string'
    ? undefined
    : 'no choices[0].message.content';
}

function promptCheck(answer: Exchange): string | undefined {
  if (answer.status !== 200) return `HTTP ${answer.status}: ${answer.body.slice(0, 300)}`;
  const body = JSON.parse(answer.body) as { success?: unknown; text?: unknown };
  return body.success === true && typeof body.text === 'string' ? undefined : 'no success/text';
}

function streamCheck(answer: Exchange): string | undefined {
  if (answer.status !== 200) return `HTTP ${answer.status}: ${answer.body.slice(0, 300)}`;
  if (!answer.contentType.startsWith('text/event-stream')) return `content-type ${answer.contentType}`;
  return answer.body.trimEnd().endsWith('data: [DONE]') ? undefined : 'stream did not end with [DONE]';
}

/**
 * Rounds of one request per hop, in a fixed order, instead of all of one hop then all of the
 * next: whatever else runs on the machine (other test suites) then slows every hop alike, and the
 * differences between hops stay meaningful.
 */
async function measureRounds(
  hops: readonly Hop[],
  warmup: number,
  n: number,
  title: string,
): Promise<Map<string, Exchange[]>> {
  const samples = new Map<string, Exchange[]>(hops.map((hop) => [hop.key, []]));
  const total = warmup + n;
  const step = Math.max(1, Math.floor(total / 10));
  for (let round = 0; round < total; round++) {
    for (const hop of hops) {
      const answer = await hop.send();
      const problem = hop.check(answer);
      if (problem !== undefined) throw new BenchError(`${hop.label}: ${problem}`);
      if (round >= warmup) samples.get(hop.key)?.push(answer);
    }
    if ((round + 1) % step === 0 || round + 1 === total)
      log(`${title}: ${round + 1}/${total} rounds (${warmup} warm-up)`);
  }
  return samples;
}

// ---- the run ------------------------------------------------------------------------------------

interface MemoryRow {
  process: string;
  pid: number | undefined;
  idle: ProcessMemory | undefined;
  after: ProcessMemory | undefined;
}

function stringField(body: unknown, name: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

function osName(): string {
  try {
    const release = readFileSync('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(release)?.[1] ?? os.type();
  } catch {
    return os.type();
  }
}

function requireBuilt(root: string): void {
  const needed = [...STACK_APPS, 'vllm-sim'].map((app) =>
    path.join(root, 'dist', 'apps', app, 'src', 'main.js'),
  );
  const missing = needed.filter((file) => !existsSync(file));
  if (missing.length > 0) throw new BenchError(`not built: ${missing.join(', ')}; run "npm run build" first`);
}

async function run(config: BenchConfig, cleanup: Cleanup, tail: OutputTail): Promise<void> {
  requireBuilt(config.root);
  const notes: string[] = [];
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  const distApps = path.join(config.root, 'dist', 'apps');

  // The bench's own simulator + auth front pair: the same binaries and arguments the job runs,
  // reachable without going through the control plane for the first two hops.
  const ownKey = randomBytes(32).toString('base64url');
  const sockDir = mkdtempSync('/tmp/aiplane-bench-');
  cleanup.add('remove the socket dir', () => {
    rmSync(sockDir, { recursive: true, force: true });
  });
  const sock = path.join(sockDir, 'server.sock');
  const simDelays = { SIM_STARTUP_DELAY_MS: '0', SIM_TTFT_MS: '0', SIM_TOKEN_LATENCY_MS: '0' };
  const sim = spawnOwn(
    'vllm-sim',
    process.execPath,
    [path.join(distApps, 'vllm-sim', 'src', 'main.js')],
    { ...config.env, LANG: 'C.UTF-8', VLLM_UDS: sock, VLLM_API_KEY: ownKey, ...simDelays },
    tail,
  );
  cleanup.add('stop the bench vllm-sim', () => sim.stop());
  const ownAuth = { authorization: `Bearer ${ownKey}` };
  const direct = unixTarget('vllm-sim (unix socket)', sock);
  await waitFor(
    'bench vllm-sim',
    async () => (await exchange(direct, 'GET', '/v1/models', undefined, ownAuth)).status === 200,
    20_000,
  );
  const front = spawnOwn(
    'auth_front',
    'python3',
    [
      path.join(config.root, 'recipes', 'runtime', 'auth_front.py'),
      '--listen',
      `127.0.0.1:${config.ports.front}`,
      '--upstream-unix',
      sock,
    ],
    { ...config.env, LANG: 'C.UTF-8', VLLM_API_KEY: ownKey },
    tail,
  );
  cleanup.add('stop the bench auth front', () => front.stop());
  const frontTarget = tcpTarget('auth front', `http://127.0.0.1:${config.ports.front}`);
  await waitFor(
    'bench auth front',
    async () => (await exchange(frontTarget, 'GET', '/v1/models', undefined, ownAuth)).status === 200,
    20_000,
  );
  log(`bench vllm-sim (pid ${sim.child.pid}) and auth front (pid ${front.child.pid}) ready`);

  // The stack, as the e2e suites start it: local executor, own ports, prefix and state dir.
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'aiplane-bench-state-'));
  cleanup.add('remove the state dir', () => {
    rmSync(stateDir, { recursive: true, force: true });
  });
  const redisPrefix = `bench-data-plane-${process.pid}-${Date.now().toString(36)}`;
  cleanup.add('delete the Redis keys of this run', async () => {
    const redis = createRedis(config.redisUrl);
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}:*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await redis.unlink(...keys);
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
  });
  // Workloads are detached from the worker; they are stopped through the executor.
  cleanup.add('cancel leftover local jobs', async () => {
    await new LocalScheduler({ stateDir }).cancelAll();
  });
  let stack: RunningStack;
  try {
    stack = await startStack(
      {
        root: config.root,
        redisUrl: config.redisUrl,
        redisPrefix,
        scheduler: 'local',
        stateDir,
        ports: {
          gateway: config.ports.gateway,
          orchestrator: config.ports.orchestrator,
          proxy: config.ports.proxy,
        },
        env: config.env,
      },
      (name, line) => {
        tail.push(name, line);
      },
    );
  } catch (error) {
    throw new BenchError(`the stack did not start: ${message(error)}\n${tail.text()}`);
  }
  cleanup.add('stop the stack', () => stack.stop());
  log(
    `stack up: gateway ${stack.gatewayUrl}, orchestrator ${stack.orchestratorUrl}, proxy ${stack.proxyUrl}`,
  );

  // A second gateway over the SSH transport to the shared sshd, beside the plain-HTTP one.
  let sshSupervisor: ProcessSupervisor | undefined;
  let sshNote: string | undefined;
  if (!config.ssh) sshNote = 'skipped: --no-ssh';
  else if ('missing' in config.sshInfra) sshNote = `skipped: ${config.sshInfra.missing}`;
  else if (!(await tcpReachable(config.sshInfra.host, config.sshInfra.port, 2_000)))
    sshNote = `skipped: no sshd at ${config.sshInfra.host}:${config.sshInfra.port}`;
  else {
    const ssh = config.sshInfra;
    const supervisor = new ProcessSupervisor({
      cwd: config.root,
      output: (name, line) => {
        tail.push(name, line);
      },
    });
    cleanup.add('stop the SSH gateway', () => supervisor.stopAll());
    try {
      await supervisor.start({
        name: 'gateway-ssh',
        script: path.join(distApps, 'gateway', 'src', 'main.js'),
        env: {
          ...config.env,
          REDIS_URL: config.redisUrl,
          REDIS_PREFIX: redisPrefix,
          RECIPES_DIR: path.join(config.root, 'recipes'),
          LOG_LEVEL: 'info',
          GATEWAY_PORT: String(config.ports.sshGateway),
          ORCHESTRATOR_URL: stack.orchestratorUrl,
          ORCHESTRATOR_TOKEN: stack.orchestratorToken,
          SSH_HOST: ssh.host,
          SSH_PORT: String(ssh.port),
          SSH_USER: ssh.user,
          SSH_KEY_PATH: ssh.keyPath,
          SSH_KNOWN_HOSTS_PATH: ssh.knownHostsPath,
        },
        readyMessages: ['listening'],
      });
      sshSupervisor = supervisor;
    } catch (error) {
      sshNote = `skipped: the SSH gateway did not start: ${message(error)}`;
      await supervisor.stopAll();
    }
  }
  if (sshNote !== undefined) {
    log(`gateway over SSH ${sshNote}`);
    notes.push(`gateway over SSH ${sshNote}`);
  }

  // One CPU-only vLLM service through the gateway, as a user creates it.
  const gateway = tcpTarget('gateway (HTTP transport)', stack.gatewayUrl);
  const created = await exchangeJson(gateway, 'POST', '/api/v1/services', CREATE_BODY);
  const id = stringField(created.body, 'id');
  if (created.status !== 200 || id === undefined)
    throw new BenchError(`creating the service answered ${created.status}: ${JSON.stringify(created.body)}`);
  cleanup.add(`cancel service ${id}`, async () => {
    const answer = await exchange(gateway, 'POST', `/api/v1/services/${id}/status`, { status: 'cancelled' });
    if (answer.status !== 200) log(`cancelling service ${id} answered ${answer.status}`);
  });
  const createdAt = Date.now();
  let status = '';
  const ended = ['failed', 'cancelled', 'completed', 'timeout'];
  await waitFor(
    `service ${id}`,
    async () => {
      const answer = await exchangeJson(gateway, 'GET', `/api/v1/services/${id}/status`);
      status = stringField(answer.body, 'status') ?? '';
      return status === 'running' || ended.includes(status);
    },
    120_000,
    250,
  ).catch((error: unknown) => {
    throw new BenchError(`${message(error)} (last status ${status})\n${tail.text()}`);
  });
  if (status !== 'running')
    throw new BenchError(`service ${id} ended ${status} before it ran\n${tail.text()}`);
  const readyMs = Date.now() - createdAt;
  const detail = await exchangeJson(gateway, 'GET', `/api/v1/services/${id}`);
  const endpoint = stringField(detail.body, 'endpoint') ?? '';
  log(`service ${id} running at ${endpoint} after ${readyMs} ms`);

  // The job's key, read behind the API's back as the e2e suite does, to call its published port.
  const redis = createRedis(config.redisUrl);
  const jobKey = (await new ServiceRegistry(redis, redisPrefix).get(id))?.api_key;
  redis.disconnect();
  if (jobKey === undefined) throw new BenchError(`service ${id} has no API key in the registry`);
  const jobFront = tcpTarget("the job's auth front", endpoint);
  const job = findJobProcesses(Number(new URL(endpoint).port));
  const jobSimEnv = job.server === undefined ? undefined : readEnvironment(job.server, 'SIM_');
  if (job.server === undefined)
    notes.push("the job's vllm-sim process was not found; its memory is not reported");

  const proxy = tcpTarget('proxy', stack.proxyUrl);
  const orchestrator = tcpTarget('orchestrator', stack.orchestratorUrl);
  const sshGateway = sshSupervisor
    ? tcpTarget('gateway (SSH transport)', `http://127.0.0.1:${config.ports.sshGateway}`)
    : undefined;
  const bearer = { authorization: `Bearer ${stack.orchestratorToken}` };

  // The body the proxy itself sends upstream, so that the first hops do the same work.
  const openAi = {
    max_tokens: config.maxTokens,
    temperature: 0.7,
    model: MODEL,
    messages: [{ role: 'user', content: PROMPT }],
  };
  const prompt = { prompt: PROMPT, max_tokens: config.maxTokens };
  const jobAuth = { authorization: `Bearer ${jobKey}` };
  const hops: Hop[] = [
    {
      key: 'direct',
      label: 'vllm-sim, Unix socket, with key (baseline)',
      base: undefined,
      send: () => exchange(direct, 'POST', '/v1/chat/completions', openAi, ownAuth),
      check: openAiCheck,
    },
    {
      key: 'front',
      label: 'auth_front.py (TCP) → vllm-sim',
      base: 'direct',
      send: () => exchange(frontTarget, 'POST', '/v1/chat/completions', openAi, ownAuth),
      check: openAiCheck,
    },
    {
      key: 'job-front',
      label: "the service's own auth front (its endpoint)",
      base: 'direct',
      send: () => exchange(jobFront, 'POST', '/v1/chat/completions', openAi, jobAuth),
      check: openAiCheck,
    },
    {
      key: 'proxy',
      label: 'proxy → job front → vllm-sim',
      base: 'job-front',
      send: () => exchange(proxy, 'POST', `/api/services/vllm/${id}/prompt`, prompt),
      check: promptCheck,
    },
    {
      key: 'orchestrator',
      label: 'orchestrator → proxy → …',
      base: 'proxy',
      send: () => exchange(orchestrator, 'POST', `/api/services/vllm/${id}/prompt`, prompt, bearer),
      check: promptCheck,
    },
    {
      key: 'gateway-http',
      label: 'gateway (HTTP transport) → orchestrator → …',
      base: 'orchestrator',
      send: () => exchange(gateway, 'POST', `/api/v1/vllm/${id}/prompt`, prompt),
      check: promptCheck,
    },
  ];
  if (sshGateway)
    hops.push({
      key: 'gateway-ssh',
      label: 'gateway (SSH transport) → orchestrator → …',
      base: 'orchestrator',
      send: () => exchange(sshGateway, 'POST', `/api/v1/vllm/${id}/prompt`, prompt),
      check: promptCheck,
    });

  // Idle memory: everything started and the service ready, nothing prompted yet.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const processes: { name: string; pid: number | undefined }[] = [
    ...STACK_APPS.map((name) => ({ name, pid: stack.supervisor.pid(name) })),
    ...(sshSupervisor ? [{ name: 'gateway (SSH transport)', pid: sshSupervisor.pid('gateway-ssh') }] : []),
    { name: 'auth_front.py (bench)', pid: front.child.pid },
    { name: 'vllm-sim (bench)', pid: sim.child.pid },
    { name: 'auth_front.py (job)', pid: job.front },
    { name: 'vllm-sim (job)', pid: job.server },
  ];
  const idle = processes.map((entry) => readMemory(entry.pid));

  const samples = await measureRounds(hops, config.warmup, config.n, 'latency');

  // Streaming: time to the first SSE event. The gateway is asked for a stream first; its prompt
  // API may not offer one, in which case the first byte it sends is the whole answer.
  const streamProbe = await exchange(gateway, 'POST', `/api/v1/vllm/${id}/prompt`, {
    ...prompt,
    stream: true,
  });
  const gatewayStreams =
    streamProbe.status === 200 && streamProbe.contentType.startsWith('text/event-stream');
  const streamBody = { ...openAi, max_tokens: config.streamMaxTokens, stream: true };
  const gatewayBody = {
    prompt: PROMPT,
    max_tokens: config.streamMaxTokens,
    ...(gatewayStreams ? { stream: true } : {}),
  };
  const streamHops: Hop[] = [
    {
      key: 'direct',
      label: 'vllm-sim, Unix socket, stream: true',
      base: undefined,
      send: () => exchange(direct, 'POST', '/v1/chat/completions', streamBody, ownAuth),
      check: streamCheck,
    },
    {
      key: 'front',
      label: 'auth_front.py → vllm-sim, stream: true',
      base: 'direct',
      send: () => exchange(frontTarget, 'POST', '/v1/chat/completions', streamBody, ownAuth),
      check: streamCheck,
    },
    {
      key: 'gateway-http',
      label: gatewayStreams
        ? 'gateway (HTTP), stream: true'
        : 'gateway (HTTP), buffered prompt (no streaming)',
      base: 'direct',
      send: () => exchange(gateway, 'POST', `/api/v1/vllm/${id}/prompt`, gatewayBody),
      check: gatewayStreams ? streamCheck : promptCheck,
    },
  ];
  const streamWarmup = Math.min(config.warmup, 10);
  const streamSamples = await measureRounds(streamHops, streamWarmup, config.streamN, 'streaming');

  const after = processes.map((entry) => readMemory(entry.pid));
  const loadAfter = os.loadavg();

  // ---- report -----------------------------------------------------------------------------------
  const latency = new Map<string, LatencySummary>(
    hops.map((hop) => [hop.key, summarise((samples.get(hop.key) ?? []).map((answer) => answer.ms))]),
  );
  const p50 = (key: string): number => latency.get(key)?.p50 ?? Number.NaN;
  const hopResults = hops.map((hop) => {
    const stats = latency.get(hop.key);
    return {
      key: hop.key,
      label: hop.label,
      compared_with: hop.base ?? null,
      added_p50_ms: hop.base === undefined ? null : round(p50(hop.key) - p50(hop.base)),
      n: stats?.n ?? 0,
      p50_ms: round(stats?.p50 ?? Number.NaN),
      p95_ms: round(stats?.p95 ?? Number.NaN),
      p99_ms: round(stats?.p99 ?? Number.NaN),
      max_ms: round(stats?.max ?? Number.NaN),
      mean_ms: round(stats?.mean ?? Number.NaN),
      requests_per_s: round(stats?.rps ?? Number.NaN, 1),
    };
  });
  const added = {
    auth_front_over_direct_ms: round(p50('front') - p50('direct')),
    control_plane_over_job_front_ms: round(p50('gateway-http') - p50('job-front')),
    gateway_http_over_direct_ms: round(p50('gateway-http') - p50('direct')),
    ...(sshGateway
      ? {
          gateway_ssh_over_direct_ms: round(p50('gateway-ssh') - p50('direct')),
          ssh_over_http_transport_ms: round(p50('gateway-ssh') - p50('gateway-http')),
        }
      : {}),
  };
  const streamResults = streamHops.map((hop) => {
    const answers = streamSamples.get(hop.key) ?? [];
    const first = summarise(answers.map((answer) => answer.firstChunkMs));
    const whole = summarise(answers.map((answer) => answer.ms));
    return {
      key: hop.key,
      label: hop.label,
      n: first.n,
      first_chunk_p50_ms: round(first.p50),
      first_chunk_p95_ms: round(first.p95),
      first_chunk_p99_ms: round(first.p99),
      first_chunk_max_ms: round(first.max),
      complete_p50_ms: round(whole.p50),
    };
  });
  const memory: MemoryRow[] = processes.map((entry, index) => ({
    process: entry.name,
    pid: entry.pid,
    idle: idle[index],
    after: after[index],
  }));
  const mib = (value: number | undefined): number | null => (value === undefined ? null : round(value, 1));

  const result = {
    bench: 'data-plane',
    started_at: startedAt.toISOString(),
    finished_at: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpu_model: os.cpus()[0]?.model ?? 'unknown',
      memory_gib: round(os.totalmem() / 1024 ** 3, 1),
      os: osName(),
      kernel: os.release(),
      node: process.version,
      load_average_before: loadBefore.map((value) => round(value)),
      load_average_after: loadAfter.map((value) => round(value)),
    },
    settings: {
      n: config.n,
      warmup: config.warmup,
      stream_n: config.streamN,
      stream_warmup: streamWarmup,
      max_tokens: config.maxTokens,
      stream_max_tokens: config.streamMaxTokens,
      order: 'interleaved rounds: one request per hop per round, sequential, keep-alive connections',
      bench_sim_env: simDelays,
      job_sim_env: jobSimEnv ?? null,
      service_ready_ms: readyMs,
    },
    notes: [
      ...notes,
      jobSimEnv && Object.keys(jobSimEnv).length === 0
        ? "the job's vllm-sim has no SIM_* variables: its artificial delays are at their defaults (0 ms)"
        : `the job's vllm-sim SIM_* variables: ${JSON.stringify(jobSimEnv ?? 'unknown')}`,
      gatewayStreams
        ? 'the gateway streamed a `stream: true` prompt'
        : `the gateway does not stream: a \`stream: true\` prompt answered HTTP ${streamProbe.status} ` +
          `(${streamProbe.body.slice(0, 160)}); its row is the first byte of a buffered answer`,
    ],
    latency: hopResults,
    added_p50_ms: added,
    streaming: {
      gateway_streams: gatewayStreams,
      gateway_stream_probe_status: streamProbe.status,
      paths: streamResults,
    },
    memory_mib: memory.map((row) => ({
      process: row.process,
      pid: row.pid ?? null,
      idle_rss: mib(row.idle?.rssMiB),
      after_rss: mib(row.after?.rssMiB),
      peak_rss: mib(row.after?.peakMiB),
    })),
  };

  mkdirSync(path.dirname(config.outFile), { recursive: true });
  writeFileSync(config.outFile, `${JSON.stringify(result, null, 2)}\n`);

  const fmt = (value: number | null): string =>
    value === null || Number.isNaN(value) ? '–' : value.toFixed(2);
  const fmtMiB = (value: number | null): string => (value === null ? '–' : value.toFixed(1));
  const out = [
    `## data-plane bench, ${result.started_at}`,
    '',
    `${result.machine.cpus} CPUs (${result.machine.cpu_model}), ${result.machine.memory_gib} GiB, ${result.machine.os}, node ${process.version}; ` +
      `n=${config.n} per hop after ${config.warmup} warm-up, max_tokens=${config.maxTokens}; ` +
      `load average ${loadBefore.map((value) => value.toFixed(2)).join(' ')} → ${loadAfter.map((value) => value.toFixed(2)).join(' ')}`,
    '',
    '### Sequential prompt latency (ms)',
    '',
    markdownTable(
      ['hop', 'p50', 'p95', 'p99', 'max', 'req/s', 'added p50 (vs)'],
      hopResults.map((hop) => [
        hop.label,
        fmt(hop.p50_ms),
        fmt(hop.p95_ms),
        fmt(hop.p99_ms),
        fmt(hop.max_ms),
        hop.requests_per_s.toFixed(1),
        hop.compared_with === null ? '–' : `${fmt(hop.added_p50_ms)} (${hop.compared_with})`,
      ]),
    ),
    '',
    markdownTable(
      ['added p50', 'ms'],
      Object.entries(added).map(([name, value]) => [name, fmt(value)]),
    ),
    '',
    `### Streaming, max_tokens=${config.streamMaxTokens}: time to first chunk (ms)`,
    '',
    markdownTable(
      ['path', 'first p50', 'first p95', 'first p99', 'first max', 'complete p50'],
      streamResults.map((row) => [
        row.label,
        fmt(row.first_chunk_p50_ms),
        fmt(row.first_chunk_p95_ms),
        fmt(row.first_chunk_p99_ms),
        fmt(row.first_chunk_max_ms),
        fmt(row.complete_p50_ms),
      ]),
    ),
    '',
    '### Resident memory (MiB)',
    '',
    markdownTable(
      ['process', 'pid', 'idle RSS', 'RSS after', 'peak (VmHWM)'],
      result.memory_mib.map((row) => [
        row.process,
        String(row.pid ?? '–'),
        fmtMiB(row.idle_rss),
        fmtMiB(row.after_rss),
        fmtMiB(row.peak_rss),
      ]),
    ),
    '',
    ...result.notes.map((note) => `- ${note}`),
    '',
    `JSON: ${path.relative(config.root, config.outFile)}`,
    '',
  ];
  process.stdout.write(out.join('\n'));
}

async function main(): Promise<void> {
  const config = loadBenchConfig(ROOT);
  if (config.help) {
    process.stdout.write(USAGE);
    return;
  }
  const cleanup = new Cleanup();
  const tail = new OutputTail();
  // An object, not a let: the handler sets it behind the control-flow analysis's back.
  const state = { interrupted: false };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (state.interrupted) {
      log(`${signal} again: exiting without finishing the clean-up`);
      process.exit(130);
    }
    state.interrupted = true;
    log(`${signal}: cleaning up (again to exit at once)`);
    void cleanup.run().then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await run(config, cleanup, tail);
  } catch (error) {
    if (!state.interrupted) {
      log(`failed: ${message(error)}`);
      process.exitCode = 1;
    }
  } finally {
    log('cleaning up');
    await cleanup.run();
  }
}

main().catch((error: unknown) => {
  log(`failed: ${message(error)}`);
  process.exit(1);
});
