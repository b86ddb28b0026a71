import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createRedis, ServiceRegistry } from '@aiplane/registry';
import { LocalScheduler } from '@aiplane/scheduler';
import { ProcessSupervisor, startStack, type RunningStack } from '@aiplane/stack';
import { loadBenchConfig, USAGE, type BenchConfig } from './bench.config';
import { childPids, cpuSnapshot } from './cpu.gauge';
import { evaluateTargets } from './data-plane.rules';
import type {
  ConcurrentRound,
  DataPlaneResult,
  FirstChunkRow,
  GapRow,
  LatencyRow,
  NotServed,
  RouteFamily,
  ThroughputRow,
} from './data-plane.types';
import {
  exchange,
  exchangeJson,
  streamExchange,
  tcpTarget,
  unixTarget,
  waitFor,
  type Exchange,
  type StreamExchange,
  type Target as HttpTarget,
} from './http.timing';
import { gaps, median, percentOf, round, summarise, type LatencySummary } from './latency.stats';
import { renderNginxConfig } from './nginx.writer';
import { log, message, OutputTail, runWithCleanup, spawnOwn, type Cleanup } from './process.runner';
import { findJobProcesses, readEnvironment, readMemory, type JobProcesses } from './process.memory';
import { renderReport } from './report.writer';
import { isErrorEvent, isTokenChunk } from './sse.parser';
import { runWrk, type WrkReport } from './wrk.runner';

// Compiled to dist/tools/bench/: the repository root is three levels up.
const ROOT = path.resolve(__dirname, '..', '..', '..');
const RECIPE = 'inference/vllm-single-node';
const MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';
/** The paced service's model: its own name, so that routing by model keeps the two services apart. */
const PACED_MODEL = 'aiplane-bench/paced-instruct';
const PROMPT = 'Tell me a joke about programming';
const STACK_APPS = ['gateway', 'orchestrator', 'proxy', 'health-prober', 'slurm-worker'] as const;

class BenchError extends Error {
  readonly code = 'BENCH_FAILED';
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

/** A route that is not there (yet) answers one of these: its row says "not served", the run goes on. */
const NOT_SERVED_STATUSES = new Set([400, 404, 405, 415, 501]);

interface Target<A extends Exchange = Exchange> {
  key: string;
  label: string;
  family: RouteFamily;
  /** Asked for `stream: true`: a 200 that is not an event stream is a route that does not stream. */
  stream: boolean;
  send: () => Promise<A>;
  check: (answer: A) => string | undefined;
  /** How wrk sends the same request; absent where wrk cannot go (a Unix socket). */
  wrk?: { url: string; method: string; body: unknown; headers: Record<string, string> };
  /** The gateway process on this path, whose CPU counts as the control plane's. */
  gateway?: string;
}

function familyOf(key: string): RouteFamily {
  if (key.endsWith(':prompt')) return 'prompt';
  return key.endsWith(':v1') ? 'openai' : 'workload';
}

function parsed(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

function openAiCheck(answer: Exchange): string | undefined {
  if (answer.status !== 200) return `HTTP ${answer.status}: ${answer.body.slice(0, 300)}`;
  const body = parsed(answer.body) as { choices?: { message?: { content?: unknown } }[] } | undefined;
  return typeof body?.choices?.[0]?.message?.content === 'string'
    ? undefined
    : 'no choices[0].message.content';
}

function promptCheck(answer: Exchange): string | undefined {
  if (answer.status !== 200) return `HTTP ${answer.status}: ${answer.body.slice(0, 300)}`;
  const body = parsed(answer.body) as { success?: unknown; text?: unknown } | undefined;
  return body?.success === true && typeof body.text === 'string' ? undefined : 'no success/text';
}

function streamCheck(answer: Exchange): string | undefined {
  if (answer.status !== 200) return `HTTP ${answer.status}: ${answer.body.slice(0, 300)}`;
  if (!answer.contentType.startsWith('text/event-stream')) return `content-type ${answer.contentType}`;
  return answer.body.trimEnd().endsWith('data: [DONE]') ? undefined : 'stream did not end with [DONE]';
}

/**
 * Sends one request to each target: a target that answers as it should is measured, one whose
 * route is not there is reported as not served, anything else is a failure of the run.
 */
async function probe<A extends Exchange>(
  targets: readonly Target<A>[],
  section: string,
  notServed: NotServed[],
): Promise<Target<A>[]> {
  const served: Target<A>[] = [];
  for (const target of targets) {
    const answer = await target.send();
    const problem = target.check(answer);
    if (problem === undefined) {
      served.push(target);
      continue;
    }
    const streamsNot =
      target.stream && answer.status === 200 && !answer.contentType.startsWith('text/event-stream');
    if (!NOT_SERVED_STATUSES.has(answer.status) && !streamsNot)
      throw new BenchError(`${target.label}: ${problem}`);
    const reason = streamsNot
      ? `answers ${answer.contentType || 'no content type'}, not an event stream`
      : `HTTP ${answer.status}: ${answer.body.slice(0, 100).replace(/\s+/g, ' ')}`;
    log(`not served (${section}): ${target.label}: ${reason}`);
    notServed.push({ section, key: target.key, label: target.label, reason });
  }
  return served;
}

/**
 * Rounds of one request per target, in a fixed order, instead of all of one target then all of
 * the next: whatever else runs on the machine then slows every target alike, and the differences
 * between them stay meaningful.
 */
async function measureRounds<A extends Exchange>(
  targets: readonly Target<A>[],
  warmup: number,
  n: number,
  title: string,
): Promise<Map<string, A[]>> {
  const samples = new Map<string, A[]>(targets.map((target) => [target.key, []]));
  const total = warmup + n;
  const step = Math.max(1, Math.floor(total / 5));
  for (let round = 0; round < total; round++) {
    for (const target of targets) {
      const answer = await target.send();
      const problem = target.check(answer);
      if (problem !== undefined) throw new BenchError(`${target.label}: ${problem}`);
      if (round >= warmup) samples.get(target.key)?.push(answer);
    }
    if ((round + 1) % step === 0 || round + 1 === total)
      log(`${title}: ${round + 1}/${total} rounds (${warmup} warm-up)`);
  }
  return samples;
}

interface WrkRun {
  key: string;
  target: Target;
  connections: number;
}

interface WrkResult {
  report: WrkReport;
  /** CPU ms per good answer, per process group. */
  cpu: Record<string, number>;
}

/** One wrk run per target and concurrency, in a fixed order, with the CPU every process used in it. */
async function measureThroughput(
  runs: readonly WrkRun[],
  seconds: number,
  warmupSeconds: number,
  dir: string,
  cpuGroups: ReadonlyMap<string, readonly number[]>,
): Promise<Map<string, WrkResult>> {
  const results = new Map<string, WrkResult>();
  for (const run of runs) {
    const spec = run.target.wrk;
    if (spec === undefined) continue;
    if (warmupSeconds > 0)
      await runWrk(
        { ...spec, connections: run.connections, seconds: warmupSeconds },
        dir,
        `${run.key}-warmup`,
      );
    const before = cpuSnapshot(cpuGroups);
    const report = await runWrk({ ...spec, connections: run.connections, seconds }, dir, run.key);
    const after = cpuSnapshot(cpuGroups);
    const good = report.requests - report.non2xx;
    if (good <= 0)
      throw new BenchError(
        `${run.key}: wrk got no good answer (${report.non2xx} non-2xx of ${report.requests})`,
      );
    const cpu: Record<string, number> = {};
    for (const [name, ms] of after) cpu[name] = (ms - (before.get(name) ?? ms)) / good;
    results.set(run.key, { report, cpu });
    log(
      `throughput ${run.key}: ${report.requestsPerS.toFixed(0)} req/s` +
        (report.non2xx + report.socketErrors > 0
          ? ` (${report.non2xx} non-2xx, ${report.socketErrors} socket errors)`
          : ''),
    );
  }
  return results;
}

interface TokenTimes {
  times: number[];
  done: boolean;
  errors: number;
}

function tokenTimes(answer: StreamExchange): TokenTimes {
  return {
    times: answer.events.filter((event) => isTokenChunk(event.data)).map((event) => event.at),
    done: answer.events.some((event) => event.data === '[DONE]'),
    errors: answer.events.filter((event) => isErrorEvent(event.data)).length,
  };
}

/** Concurrent streams through one path, all started together: chunks counted, gaps timed. */
async function concurrentStreams(
  send: () => Promise<StreamExchange>,
  streams: number,
): Promise<{ answers: StreamExchange[]; wallMs: number }> {
  const started = performance.now();
  const answers = await Promise.all(Array.from({ length: streams }, () => send()));
  return { answers, wallMs: performance.now() - started };
}

// ---- the run ------------------------------------------------------------------------------------

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

interface RunningService {
  id: string;
  endpoint: string;
  readyMs: number;
  key: string;
  job: JobProcesses;
  simEnv: Record<string, string> | undefined;
}

/** Creates services through the gateway, as a user does, and waits until every one is running. */
async function createServices(
  gateway: HttpTarget,
  bodies: readonly unknown[],
  config: BenchConfig,
  redisPrefix: string,
  cleanup: Cleanup,
  tail: OutputTail,
): Promise<RunningService[]> {
  const created: { id: string; at: number }[] = [];
  for (const body of bodies) {
    const answer = await exchangeJson(gateway, 'POST', '/api/v1/services', body);
    const id = stringField(answer.body, 'id');
    if (answer.status !== 200 || id === undefined)
      throw new BenchError(`creating a service answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    cleanup.add(`cancel service ${id}`, async () => {
      const cancelled = await exchange(gateway, 'POST', `/api/v1/services/${id}/status`, {
        status: 'cancelled',
      });
      if (cancelled.status !== 200) log(`cancelling service ${id} answered ${cancelled.status}`);
    });
    created.push({ id, at: Date.now() });
  }
  const services: RunningService[] = [];
  const redis = createRedis(config.redisUrl);
  try {
    for (const { id, at } of created) {
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
      const readyMs = Date.now() - at;
      const detail = await exchangeJson(gateway, 'GET', `/api/v1/services/${id}`);
      const endpoint = stringField(detail.body, 'endpoint') ?? '';
      // The job's key, read behind the API's back as the e2e suite does, to call its published port.
      const key = (await new ServiceRegistry(redis, redisPrefix).get(id))?.api_key;
      if (key === undefined) throw new BenchError(`service ${id} has no API key in the registry`);
      const job = findJobProcesses(Number(new URL(endpoint).port));
      const simEnv = job.server === undefined ? undefined : readEnvironment(job.server, 'SIM_');
      log(`service ${id} running at ${endpoint} after ${readyMs} ms`);
      services.push({ id, endpoint, readyMs, key, job, simEnv });
    }
  } finally {
    redis.disconnect();
  }
  return services;
}

async function startNginx(
  config: BenchConfig,
  upstream: string,
  dir: string,
  cleanup: Cleanup,
  tail: OutputTail,
): Promise<{ master: number; workers: number[] }> {
  const url = new URL(upstream);
  mkdirSync(dir, { recursive: true });
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    renderNginxConfig({
      dir,
      listenPort: config.ports.nginx,
      upstream: { host: url.hostname, port: Number(url.port) },
      // One worker: a single process, like each hop of the control plane and the front.
      workers: 1,
    }),
  );
  const nginx = spawnOwn(
    'nginx',
    'nginx',
    ['-p', dir, '-e', path.join(dir, 'error.log'), '-c', conf],
    { cwd: ROOT, env: config.env },
    tail,
  );
  cleanup.add('stop nginx', () => nginx.stop());
  const master = nginx.child.pid;
  if (master === undefined) throw new BenchError('nginx did not start');
  let workers: number[] = [];
  await waitFor(
    'nginx workers',
    () => {
      workers = childPids(master);
      return Promise.resolve(workers.length > 0 || nginx.child.exitCode !== null);
    },
    10_000,
  );
  if (nginx.child.exitCode !== null) throw new BenchError(`nginx exited\n${tail.text()}`);
  return { master, workers };
}

interface RoundResult {
  latency: Map<string, LatencySummary>;
  throughput: Map<string, WrkResult>;
  firstChunk: Map<string, { first: LatencySummary; complete: LatencySummary }>;
  gaps: Map<string, { gaps: LatencySummary; tokens: number[] }>;
  concurrent: ConcurrentRound | undefined;
}

async function run(config: BenchConfig, cleanup: Cleanup, tail: OutputTail): Promise<void> {
  requireBuilt(config.root);
  const notes: string[] = [];
  const notServed: NotServed[] = [];
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  const distApps = path.join(config.root, 'dist', 'apps');
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'aiplane-bench-'));
  cleanup.add('remove the temporary dir', () => {
    rmSync(tmpDir, { recursive: true, force: true });
  });

  // The bench's own simulator on TCP, with the job's settings: the "direct" row of wrk, which
  // cannot reach the job's simulator on its private Unix socket.
  const ownKey = randomBytes(32).toString('base64url');
  const ownAuth = { authorization: `Bearer ${ownKey}` };
  const simDelays = { SIM_STARTUP_DELAY_MS: '0', SIM_TTFT_MS: '0', SIM_TOKEN_LATENCY_MS: '0' };
  const sim = spawnOwn(
    'vllm-sim',
    process.execPath,
    [path.join(distApps, 'vllm-sim', 'src', 'main.js')],
    {
      cwd: ROOT,
      env: {
        ...config.env,
        LANG: 'C.UTF-8',
        VLLM_HOST: '127.0.0.1',
        VLLM_PORT: String(config.ports.directSim),
        VLLM_API_KEY: ownKey,
        ...simDelays,
      },
    },
    tail,
  );
  cleanup.add('stop the bench vllm-sim', () => sim.stop());
  const directTcpUrl = `http://127.0.0.1:${config.ports.directSim}`;
  const directTcp = tcpTarget('vllm-sim (TCP)', directTcpUrl);
  await waitFor(
    'bench vllm-sim',
    async () => (await exchange(directTcp, 'GET', '/v1/models', undefined, ownAuth)).status === 200,
    20_000,
  );

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
  // The stack's sockets and connection file. The stack's proxy stays on its socket, as users get it;
  // wrk's proxy rows go to its TCP twin.
  const runtimeDir = mkdtempSync(path.join(os.tmpdir(), 'aiplane-bench-run-'));
  cleanup.add('remove the runtime dir', () => {
    rmSync(runtimeDir, { recursive: true, force: true });
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
        runtimeDir,
        ports: { gateway: config.ports.gateway, orchestrator: config.ports.orchestrator },
        proxyTcpPort: config.ports.proxy,
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
  const proxyUrl = stack.proxyUrl ?? `http://127.0.0.1:${String(config.ports.proxy)}`;
  log(`stack up: gateway ${stack.gatewayUrl}, orchestrator ${stack.orchestratorUrl}, proxy ${proxyUrl}`);

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
          ORCHESTRATOR_SOCKET: stack.orchestratorSocket,
          ORCHESTRATOR_TOKEN: stack.orchestratorToken,
          // The data plane goes to the proxy over the SSH connection: its socket on the login
          // node (this machine) and its token, the same as the orchestrator's in the stack.
          PROXY_SOCKET: stack.proxySocket,
          PROXY_TOKEN: stack.orchestratorToken,
          SSH_HOST: ssh.host,
          SSH_PORT: String(ssh.port),
          SSH_USER: ssh.user,
          SSH_KEY_PATH: ssh.keyPath,
          SSH_KNOWN_HOSTS_PATH: ssh.knownHostsPath,
          // Its login-node pin in the run's temp state dir, not the user's ~/.local/state.
          GATEWAY_STATE_DIR: stateDir,
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

  // Two CPU-only vLLM services: one at zero delay (latency, throughput, time to first chunk) and
  // one paced at the per-token latency (gaps, concurrent streams), serving another model name so
  // that model routing never sends the first one's prompts to it.
  const gateway = tcpTarget('gateway (HTTP transport)', stack.gatewayUrl);
  const resources = { gpu: 0, cpu: '1', memory: '1G' };
  const [fast, paced] = await createServices(
    gateway,
    [
      { recipe_name: RECIPE, config: { resources } },
      {
        recipe_name: RECIPE,
        config: {
          resources,
          environment: { VLLM_MODEL: PACED_MODEL, SIM_TOKEN_LATENCY_MS: String(config.tokenLatencyMs) },
        },
      },
    ],
    config,
    redisPrefix,
    cleanup,
    tail,
  );
  if (fast === undefined || paced === undefined) throw new BenchError('the services were not created');
  if (paced.simEnv?.SIM_TOKEN_LATENCY_MS !== String(config.tokenLatencyMs))
    notes.push(
      `the paced job's vllm-sim has SIM_TOKEN_LATENCY_MS=${paced.simEnv?.SIM_TOKEN_LATENCY_MS ?? 'unset'}, ` +
        `not ${config.tokenLatencyMs}: the worker did not pass the user's environment on`,
    );
  if (fast.job.socketPath === undefined || paced.job.socketPath === undefined)
    throw new BenchError(
      `the jobs' simulator sockets were not found (${JSON.stringify([fast.job, paced.job])})`,
    );

  let nginx: { master: number; workers: number[] } | undefined;
  if (config.nginx)
    nginx = await startNginx(config, fast.endpoint, path.join(tmpDir, 'nginx'), cleanup, tail);
  else notes.push('nginx skipped: --no-nginx');

  // ---- targets ----------------------------------------------------------------------------------
  const jobAuth = { authorization: `Bearer ${fast.key}` };
  const pacedAuth = { authorization: `Bearer ${paced.key}` };
  const bearer = { authorization: `Bearer ${stack.orchestratorToken}` };
  // What an OpenAI SDK sends the local gateway, which accepts any key.
  const sdkAuth = { authorization: 'Bearer sk-aiplane-bench' };
  const direct = unixTarget("the job's vllm-sim (its Unix socket)", fast.job.socketPath);
  const front = tcpTarget("the job's auth front", fast.endpoint);
  const nginxUrl = `http://127.0.0.1:${config.ports.nginx}`;
  const nginxTarget = tcpTarget('nginx', nginxUrl);
  const proxy = tcpTarget('proxy', proxyUrl);
  const orchestrator = tcpTarget('orchestrator', stack.orchestratorUrl);
  const sshGatewayUrl = `http://127.0.0.1:${config.ports.sshGateway}`;
  const sshGateway = sshSupervisor ? tcpTarget('gateway (SSH transport)', sshGatewayUrl) : undefined;

  // The body the proxy itself sends upstream, so that the workload rows do the same work.
  const openAi = {
    max_tokens: config.maxTokens,
    temperature: 0.7,
    model: MODEL,
    messages: [{ role: 'user', content: PROMPT }],
  };
  const prompt = { prompt: PROMPT, max_tokens: config.maxTokens };
  const promptPath = (id: string, hop: 'gateway' | 'orchestrator'): string =>
    hop === 'gateway' ? `/api/v1/vllm/${id}/prompt` : `/api/services/vllm/${id}/prompt`;

  const workload = (
    key: string,
    label: string,
    target: HttpTarget,
    url: string | undefined,
    headers: Record<string, string>,
  ): Target => ({
    key,
    label,
    family: 'workload',
    stream: false,
    send: () => exchange(target, 'POST', '/v1/chat/completions', openAi, headers),
    check: openAiCheck,
    ...(url === undefined
      ? {}
      : { wrk: { url: `${url}/v1/chat/completions`, method: 'POST', body: openAi, headers } }),
  });
  const hop = (
    key: string,
    label: string,
    family: 'prompt' | 'openai',
    target: HttpTarget,
    url: string,
    pathname: string,
    headers: Record<string, string>,
    gatewayName?: string,
  ): Target => {
    const body = family === 'prompt' ? prompt : openAi;
    return {
      key,
      label,
      family,
      stream: false,
      send: () => exchange(target, 'POST', pathname, body, headers),
      check: family === 'prompt' ? promptCheck : openAiCheck,
      wrk: { url: `${url}${pathname}`, method: 'POST', body, headers },
      ...(gatewayName === undefined ? {} : { gateway: gatewayName }),
    };
  };
  const targets: Target[] = [
    workload('direct', "vllm-sim, the job's Unix socket", direct, undefined, jobAuth),
    workload('direct-tcp', "vllm-sim, the bench's own, TCP", directTcp, directTcpUrl, ownAuth),
    workload('front', "the job's auth front", front, fast.endpoint, jobAuth),
    ...(nginx ? [workload('nginx', "nginx → the job's front", nginxTarget, nginxUrl, jobAuth)] : []),
  ];
  const families = [
    { family: 'prompt' as const, suffix: 'prompt', name: 'prompt route' },
    { family: 'openai' as const, suffix: 'v1', name: '/v1/chat/completions' },
  ];
  for (const { family, suffix, name } of families) {
    const isPrompt = family === 'prompt';
    const gwPath = isPrompt ? promptPath(fast.id, 'gateway') : '/v1/chat/completions';
    const orchPath = isPrompt ? promptPath(fast.id, 'orchestrator') : '/v1/chat/completions';
    const gwHeaders = isPrompt ? {} : sdkAuth;
    targets.push(
      hop(`proxy:${suffix}`, `proxy, ${name}`, family, proxy, proxyUrl, orchPath, bearer),
      hop(
        `orchestrator:${suffix}`,
        `orchestrator, ${name}`,
        family,
        orchestrator,
        stack.orchestratorUrl,
        orchPath,
        bearer,
      ),
      hop(
        `gateway-http:${suffix}`,
        `gateway (HTTP transport), ${name}`,
        family,
        gateway,
        stack.gatewayUrl,
        gwPath,
        gwHeaders,
        'gateway',
      ),
    );
    if (sshGateway)
      targets.push(
        hop(
          `gateway-ssh:${suffix}`,
          `gateway (SSH transport), ${name}`,
          family,
          sshGateway,
          sshGatewayUrl,
          gwPath,
          gwHeaders,
          'gateway (SSH)',
        ),
      );
  }

  // Streaming, time to the first chunk: the zero-delay service.
  const streamChat = { ...openAi, max_tokens: config.streamMaxTokens, stream: true };
  const streamPrompt = { prompt: PROMPT, max_tokens: config.streamMaxTokens, stream: true };
  const streamTarget = (
    key: string,
    label: string,
    target: HttpTarget,
    pathname: string,
    body: unknown,
    headers: Record<string, string>,
  ): Target => ({
    key,
    label,
    family: familyOf(key),
    stream: true,
    send: () => exchange(target, 'POST', pathname, body, headers),
    check: streamCheck,
  });
  const firstChunkTargets: Target[] = [
    streamTarget(
      'direct',
      "vllm-sim, the job's Unix socket",
      direct,
      '/v1/chat/completions',
      streamChat,
      jobAuth,
    ),
    streamTarget('front', "the job's auth front", front, '/v1/chat/completions', streamChat, jobAuth),
    ...(nginx
      ? [
          streamTarget(
            'nginx',
            "nginx → the job's front",
            nginxTarget,
            '/v1/chat/completions',
            streamChat,
            jobAuth,
          ),
        ]
      : []),
    streamTarget(
      'proxy:v1',
      'proxy, /v1/chat/completions',
      proxy,
      '/v1/chat/completions',
      streamChat,
      bearer,
    ),
    streamTarget(
      'gateway-http:v1',
      'gateway (HTTP transport), /v1/chat/completions',
      gateway,
      '/v1/chat/completions',
      streamChat,
      sdkAuth,
    ),
    streamTarget(
      'gateway-http:prompt',
      'gateway (HTTP transport), prompt route',
      gateway,
      promptPath(fast.id, 'gateway'),
      streamPrompt,
      {},
    ),
    ...(sshGateway
      ? [
          streamTarget(
            'gateway-ssh:v1',
            'gateway (SSH transport), /v1/chat/completions',
            sshGateway,
            '/v1/chat/completions',
            streamChat,
            sdkAuth,
          ),
        ]
      : []),
  ];

  // Streaming, gaps between chunks: the paced service.
  const pacedChat = {
    model: PACED_MODEL,
    max_tokens: config.gapTokens,
    messages: [{ role: 'user', content: PROMPT }],
    stream: true,
  };
  const pacedPrompt = { prompt: PROMPT, max_tokens: config.gapTokens, stream: true };
  const pacedDirect = unixTarget("the paced job's vllm-sim (its Unix socket)", paced.job.socketPath);
  const pacedFront = tcpTarget("the paced job's auth front", paced.endpoint);
  const gapTarget = (
    key: string,
    label: string,
    target: HttpTarget,
    pathname: string,
    body: unknown,
    headers: Record<string, string>,
  ): Target<StreamExchange> => ({
    key,
    label,
    family: familyOf(key),
    stream: true,
    send: () => streamExchange(target, pathname, body, headers),
    check: streamCheck,
  });
  const gapTargets: Target<StreamExchange>[] = [
    gapTarget(
      'direct',
      'vllm-sim (the workload), its Unix socket',
      pacedDirect,
      '/v1/chat/completions',
      pacedChat,
      pacedAuth,
    ),
    gapTarget('front', "the job's auth front", pacedFront, '/v1/chat/completions', pacedChat, pacedAuth),
    gapTarget(
      'gateway-http:v1',
      'gateway (HTTP transport), /v1/chat/completions',
      gateway,
      '/v1/chat/completions',
      pacedChat,
      sdkAuth,
    ),
    gapTarget(
      'gateway-http:prompt',
      'gateway (HTTP transport), prompt route',
      gateway,
      promptPath(paced.id, 'gateway'),
      pacedPrompt,
      {},
    ),
    ...(sshGateway
      ? [
          gapTarget(
            'gateway-ssh:v1',
            'gateway (SSH transport), /v1/chat/completions',
            sshGateway,
            '/v1/chat/completions',
            pacedChat,
            sdkAuth,
          ),
        ]
      : []),
  ];

  // ---- probe: what the code under test serves --------------------------------------------------
  const served = await probe(targets, 'c=1 and throughput', notServed);
  const servedFirstChunk = await probe(firstChunkTargets, 'time to first chunk', notServed);
  const servedGaps = await probe(gapTargets, 'gaps between chunks', notServed);

  const concurrentChat = { ...pacedChat, max_tokens: config.concurrentTokens };
  const concurrentPrompt = { ...pacedPrompt, max_tokens: config.concurrentTokens };
  const concurrentPath = servedGaps.some((target) => target.key === 'gateway-http:v1')
    ? {
        label: 'gateway (HTTP transport), /v1/chat/completions',
        pathname: '/v1/chat/completions',
        body: concurrentChat,
        headers: sdkAuth,
      }
    : servedGaps.some((target) => target.key === 'gateway-http:prompt')
      ? {
          label: 'gateway (HTTP transport), prompt route',
          pathname: promptPath(paced.id, 'gateway'),
          body: concurrentPrompt,
          headers: {},
        }
      : undefined;
  if (concurrentPath === undefined)
    notServed.push({
      section: 'concurrent streams',
      key: 'gateway-http',
      label: `${config.concurrentStreams} concurrent streams through the gateway`,
      reason: 'the gateway streams on neither /v1 nor the prompt route',
    });

  const wrkRuns: WrkRun[] = [];
  if (config.duration > 0) {
    for (const target of served)
      if (target.wrk) wrkRuns.push({ key: `${target.key}@c16`, target, connections: 16 });
    for (const target of served)
      if (target.wrk && ['direct-tcp', 'front', 'nginx'].includes(target.key))
        wrkRuns.push({ key: `${target.key}@c64`, target, connections: 64 });
  } else notes.push('throughput and CPU skipped: --duration 0');
  const pidOf = (name: string): number[] => {
    const pid = stack.supervisor.pid(name);
    return pid === undefined ? [] : [pid];
  };
  const cpuGroups = new Map<string, number[]>([
    ['gateway', pidOf('gateway')],
    ...(sshSupervisor
      ? [
          [
            'gateway (SSH)',
            ((pid) => (pid === undefined ? [] : [pid]))(sshSupervisor.pid('gateway-ssh')),
          ] as [string, number[]],
        ]
      : []),
    ['orchestrator', pidOf('orchestrator')],
    ['proxy', pidOf('proxy')],
    // Serves only the proxy rows: wrk cannot reach a socket.
    ['proxy (TCP twin)', pidOf('proxy-tcp')],
    ["job's front", fast.job.front === undefined ? [] : [fast.job.front]],
    ...(nginx ? [['nginx', [nginx.master, ...nginx.workers]] as [string, number[]]] : []),
  ]);

  // Idle memory: everything started and the services ready, nothing measured yet.
  await new Promise((resolve) => setTimeout(resolve, config.quick ? 500 : 3_000));
  const processes: { name: string; pid: number | undefined }[] = [
    ...STACK_APPS.map((name) => ({ name, pid: stack.supervisor.pid(name) })),
    ...(sshSupervisor ? [{ name: 'gateway (SSH transport)', pid: sshSupervisor.pid('gateway-ssh') }] : []),
    { name: 'auth_front.py (job)', pid: fast.job.front },
    { name: 'vllm-sim (job)', pid: fast.job.server },
    { name: 'auth_front.py (paced job)', pid: paced.job.front },
    { name: 'vllm-sim (paced job)', pid: paced.job.server },
    ...(nginx
      ? [
          { name: 'nginx (master)', pid: nginx.master },
          ...nginx.workers.map((pid) => ({ name: 'nginx (worker)', pid })),
        ]
      : []),
    { name: 'vllm-sim (bench, TCP)', pid: sim.child.pid },
  ];
  const idle = processes.map((entry) => readMemory(entry.pid));

  // Whether the simulator really emits one chunk per token at this max_tokens.
  const reference = tokenTimes(
    await streamExchange(pacedDirect, '/v1/chat/completions', concurrentChat, pacedAuth),
  );
  const expectedPerStream = reference.times.length;
  if (expectedPerStream !== config.concurrentTokens)
    notes.push(
      `the simulator emitted ${expectedPerStream} token chunks for max_tokens ${config.concurrentTokens}; ` +
        'that count is what the concurrent streams are held to',
    );

  // ---- the rounds -------------------------------------------------------------------------------
  const rounds: RoundResult[] = [];
  for (let index = 0; index < config.rounds; index++) {
    const title = `round ${index + 1}/${config.rounds}`;
    const latencySamples = await measureRounds(served, config.warmup, config.n, `${title} c=1`);
    const latency = new Map(
      [...latencySamples].map(([key, answers]) => [key, summarise(answers.map((answer) => answer.ms))]),
    );
    const throughput = await measureThroughput(wrkRuns, config.duration, config.wrkWarmup, tmpDir, cpuGroups);
    const firstSamples = await measureRounds(
      servedFirstChunk,
      Math.min(config.warmup, 10),
      config.streamN,
      `${title} first chunk`,
    );
    const firstChunk = new Map(
      [...firstSamples].map(([key, answers]) => [
        key,
        {
          first: summarise(answers.map((answer) => answer.firstChunkMs)),
          complete: summarise(answers.map((answer) => answer.ms)),
        },
      ]),
    );
    const gapSamples = await measureRounds(servedGaps, 1, config.gapN, `${title} gaps`);
    const gapResults = new Map(
      [...gapSamples].map(([key, answers]) => {
        const perStream = answers.map(tokenTimes);
        return [
          key,
          {
            gaps: summarise(perStream.flatMap((stream) => gaps(stream.times))),
            tokens: perStream.map((stream) => stream.times.length),
          },
        ];
      }),
    );
    let concurrent: ConcurrentRound | undefined;
    if (concurrentPath) {
      const many = tcpTarget(
        'gateway (HTTP transport), concurrent',
        stack.gatewayUrl,
        config.concurrentStreams,
      );
      log(`${title}: ${config.concurrentStreams} concurrent streams of ${config.concurrentTokens} tokens`);
      const { answers, wallMs } = await concurrentStreams(
        () => streamExchange(many, concurrentPath.pathname, concurrentPath.body, concurrentPath.headers),
        config.concurrentStreams,
      );
      many.agent.destroy();
      const streams = answers.map(tokenTimes);
      const received = streams.reduce((sum, stream) => sum + stream.times.length, 0);
      const allGaps = summarise(streams.flatMap((stream) => gaps(stream.times)));
      const durations = summarise(answers.map((answer) => answer.ms));
      concurrent = {
        path: concurrentPath.label,
        streams: config.concurrentStreams,
        max_tokens: config.concurrentTokens,
        expected_per_stream: expectedPerStream,
        expected_total: expectedPerStream * config.concurrentStreams,
        received_total: received,
        lost: expectedPerStream * config.concurrentStreams - received,
        incomplete_streams: answers.filter((answer) => {
          const stream = tokenTimes(answer);
          return answer.status !== 200 || !stream.done || stream.errors > 0;
        }).length,
        error_events: streams.reduce((sum, stream) => sum + stream.errors, 0),
        gap_p50_ms: round(allGaps.p50),
        gap_p99_ms: round(allGaps.p99),
        gap_max_ms: round(allGaps.max),
        stream_p50_ms: round(durations.p50),
        stream_max_ms: round(durations.max),
        ideal_stream_ms: (config.concurrentTokens - 1) * config.tokenLatencyMs,
        wall_ms: round(wallMs),
      };
    }
    rounds.push({ latency, throughput, firstChunk, gaps: gapResults, concurrent });
  }

  const after = processes.map((entry) => readMemory(entry.pid));
  const loadAfter = os.loadavg();

  // ---- aggregate: medians over the rounds -------------------------------------------------------
  const med = (values: readonly number[]): number => round(median(values));
  const frontP50 = med(rounds.map((r) => r.latency.get('front')?.p50 ?? Number.NaN));
  const latencyRows: LatencyRow[] = served.map((target) => {
    const per = rounds.map((r) => r.latency.get(target.key));
    const p50 = med(per.map((s) => s?.p50 ?? Number.NaN));
    return {
      key: target.key,
      label: target.label,
      family: target.family,
      p50_ms: per.map((s) => round(s?.p50 ?? Number.NaN)),
      median_p50_ms: p50,
      median_p95_ms: med(per.map((s) => s?.p95 ?? Number.NaN)),
      median_p99_ms: med(per.map((s) => s?.p99 ?? Number.NaN)),
      max_ms: round(Math.max(...per.map((s) => s?.max ?? Number.NaN))),
      n: per.reduce((sum, s) => sum + (s?.n ?? 0), 0),
      added_p50_vs_front_ms: target.key === 'front' ? null : round(p50 - frontP50),
    };
  });

  const throughputRows: ThroughputRow[] = wrkRuns.map((wrkRun) => {
    const per = rounds.map((r) => r.throughput.get(wrkRun.key));
    const frontPer = rounds.map((r) => r.throughput.get(`front@c${wrkRun.connections}`));
    const percents = per.map((result, at) =>
      percentOf(result?.report.requestsPerS ?? Number.NaN, frontPer[at]?.report.requestsPerS ?? Number.NaN),
    );
    const cpuNames = [...cpuGroups.keys()];
    const cpu = Object.fromEntries(
      cpuNames.map((name) => [name, round(median(per.map((result) => result?.cpu[name] ?? Number.NaN)), 3)]),
    );
    const gatewayName = wrkRun.target.gateway;
    const sum = (names: string[]): number =>
      round(
        median(per.map((result) => names.reduce((total, name) => total + (result?.cpu[name] ?? 0), 0))),
        3,
      );
    return {
      key: wrkRun.key,
      label: wrkRun.target.label,
      connections: wrkRun.connections,
      requests_per_s: per.map((result) => round(result?.report.requestsPerS ?? Number.NaN, 0)),
      median_requests_per_s: round(median(per.map((result) => result?.report.requestsPerS ?? Number.NaN)), 0),
      percent_of_front: wrkRun.target.key === 'front' ? null : round(median(percents), 1),
      median_p50_ms: med(per.map((result) => result?.report.p50Ms ?? Number.NaN)),
      median_p99_ms: med(per.map((result) => result?.report.p99Ms ?? Number.NaN)),
      non_2xx: per.reduce((total, result) => total + (result?.report.non2xx ?? 0), 0),
      socket_errors: per.reduce((total, result) => total + (result?.report.socketErrors ?? 0), 0),
      requests: per.reduce((total, result) => total + (result?.report.requests ?? 0), 0),
      cpu_ms_per_request: cpu,
      control_plane_cpu_ms:
        gatewayName === undefined
          ? null
          : {
              gateway_proxy: sum([gatewayName, 'proxy']),
              gateway_orchestrator_proxy: sum([gatewayName, 'orchestrator', 'proxy']),
            },
    };
  });

  const frontFirst = med(rounds.map((r) => r.firstChunk.get('front')?.first.p50 ?? Number.NaN));
  const firstChunkRows: FirstChunkRow[] = servedFirstChunk.map((target) => {
    const per = rounds.map((r) => r.firstChunk.get(target.key));
    const p50 = med(per.map((s) => s?.first.p50 ?? Number.NaN));
    return {
      key: target.key,
      label: target.label,
      p50_ms: per.map((s) => round(s?.first.p50 ?? Number.NaN)),
      median_p50_ms: p50,
      median_p95_ms: med(per.map((s) => s?.first.p95 ?? Number.NaN)),
      n: per.reduce((sum, s) => sum + (s?.first.n ?? 0), 0),
      added_p50_vs_front_ms: target.key === 'front' ? null : round(p50 - frontFirst),
      median_complete_p50_ms: med(per.map((s) => s?.complete.p50 ?? Number.NaN)),
    };
  });

  const workloadGap = (pick: (s: LatencySummary) => number): number =>
    median(
      rounds.map((r) => {
        const s = r.gaps.get('direct')?.gaps;
        return s === undefined ? Number.NaN : pick(s);
      }),
    );
  const gapRows: GapRow[] = servedGaps.map((target) => {
    const per = rounds.map((r) => r.gaps.get(target.key));
    const p50 = median(per.map((s) => s?.gaps.p50 ?? Number.NaN));
    const p99 = median(per.map((s) => s?.gaps.p99 ?? Number.NaN));
    return {
      key: target.key,
      label: target.label,
      n_streams: per.reduce((sum, s) => sum + (s?.tokens.length ?? 0), 0),
      tokens_per_stream: [...new Set(per.flatMap((s) => s?.tokens ?? []))].sort((a, b) => a - b),
      median_gap_p50_ms: round(p50),
      median_gap_p99_ms: round(p99),
      median_gap_max_ms: med(per.map((s) => s?.gaps.max ?? Number.NaN)),
      gap_p50_diff_ms: target.key === 'direct' ? null : round(p50 - workloadGap((s) => s.p50)),
      gap_p99_diff_ms: target.key === 'direct' ? null : round(p99 - workloadGap((s) => s.p99)),
    };
  });
  const concurrentRounds = rounds
    .map((r) => r.concurrent)
    .filter((c): c is ConcurrentRound => c !== undefined);

  const memory = processes.map((entry, index) => ({
    process: entry.name,
    pid: entry.pid ?? null,
    idle_rss: mibOrNull(idle[index]?.rssMiB),
    after_rss: mibOrNull(after[index]?.rssMiB),
    peak_rss: mibOrNull(after[index]?.peakMiB),
  }));

  const result: DataPlaneResult = {
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
      quick: config.quick,
      rounds: config.rounds,
      n: config.n,
      warmup: config.warmup,
      stream_n: config.streamN,
      max_tokens: config.maxTokens,
      stream_max_tokens: config.streamMaxTokens,
      wrk_seconds: config.duration,
      wrk_warmup_seconds: config.wrkWarmup,
      gap_n: config.gapN,
      gap_tokens: config.gapTokens,
      token_latency_ms: config.tokenLatencyMs,
      concurrent_streams: config.concurrentStreams,
      concurrent_tokens: config.concurrentTokens,
      order:
        'each round: c=1 (interleaved, one request per target in turn, keep-alive), wrk per target ' +
        '(each measured run after an unmeasured warm-up run of the same target), ' +
        'first chunk (interleaved), paced gaps (interleaved), concurrent streams',
      job_sim_env: fast.simEnv ?? null,
      paced_job_sim_env: paced.simEnv ?? null,
      services_ready_ms: [fast.readyMs, paced.readyMs],
    },
    notes,
    not_served: notServed,
    latency: latencyRows,
    throughput: throughputRows,
    first_chunk: firstChunkRows,
    gaps: gapRows,
    concurrent: concurrentRounds,
    targets: [],
    memory_mib: memory,
  };
  result.targets = evaluateTargets(result);

  mkdirSync(path.dirname(config.outFile), { recursive: true });
  writeFileSync(config.outFile, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(renderReport(result, path.relative(config.root, config.outFile)));
}

function mibOrNull(value: number | undefined): number | null {
  return value === undefined ? null : round(value, 1);
}

const DEBIAN_PACKAGE = { nginx: 'nginx-light', wrk: 'wrk' } as const;

/** The peer proxy and the load generator the asked-for rows need, checked before anything starts. */
function missingTools(config: BenchConfig): (keyof typeof DEBIAN_PACKAGE)[] {
  const needed: (keyof typeof DEBIAN_PACKAGE)[] = [];
  if (config.nginx) needed.push('nginx');
  if (config.duration > 0) needed.push('wrk');
  const dirs = (config.env.PATH ?? '').split(path.delimiter).filter((dir) => dir !== '');
  return needed.filter((tool) => !dirs.some((dir) => existsSync(path.join(dir, tool))));
}

async function main(): Promise<void> {
  const config = loadBenchConfig(ROOT);
  if (config.help) {
    process.stdout.write(USAGE);
    return;
  }
  const missing = missingTools(config);
  if (missing.length > 0) {
    throw new BenchError(
      `not on PATH: ${missing.join(', ')}. Install them with tools/infra/bench-tools.sh (as root: Debian's ` +
        `${missing.map((tool) => DEBIAN_PACKAGE[tool]).join(' and ')}), or leave out ` +
        `their rows (${missing.map((tool) => (tool === 'nginx' ? '--no-nginx' : '--duration 0')).join(', ')})`,
    );
  }
  const tail = new OutputTail();
  await runWithCleanup((cleanup) => run(config, cleanup, tail));
}

main().catch((error: unknown) => {
  log(`failed: ${message(error)}`);
  process.exit(1);
});
