import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import * as path from 'node:path';
import { ensurePrivateDir, socketPathIn } from '@aiplane/config';
import { ProcessSupervisor, type SupervisorOptions } from './process.supervisor';

export interface StackOptions {
  /** Repository root: dist/ and recipes/ are found from here. */
  root: string;
  redisUrl: string;
  redisPrefix?: string;
  scheduler: 'local' | 'slurm';
  /** `local` (default): jobs run the simulators; `cluster`: the recipes' Apptainer commands (tests bring a stand-in). */
  runtimeProfile?: 'local' | 'cluster';
  stateDir: string;
  /**
   * This user's private directory (created 0700; refused when another user owns it or can write
   * it) for the orchestrator's and the proxy's Unix sockets and `connection.json`.
   */
  runtimeDir: string;
  /**
   * `gateway`: the researcher's side, on 127.0.0.1 (0 picks a free port). `orchestrator`: the TCP
   * port compute-node clients use (default 0, a free one). Nothing else listens on TCP.
   */
  ports?: Partial<{ gateway: number; orchestrator: number }>;
  /** The interface compute-node clients reach the orchestrator on; 127.0.0.1 on a one-machine cluster. */
  clusterHost?: string;
  /**
   * Benchmarks only: a second proxy, `proxy-tcp`, on this TCP port (loopback) for tools that speak
   * only TCP. The gateway and the orchestrator still reach the stack's own proxy on its socket, as
   * in production, so what a benchmark measures on their path is the path users get.
   */
  proxyTcpPort?: number;
  /** SSH transport for the gateway; plain HTTP when absent. */
  ssh?: { host: string; port: number; user: string; keyPath: string; knownHostsPath: string };
  slurmPartition?: string;
  pollIntervalMs?: number;
  probeIntervalMs?: number;
  /** trace, debug or info: readiness is read from each process's info-level start-up line. */
  logLevel?: 'trace' | 'debug' | 'info';
  /** Bearer token between gateway, orchestrator and proxy; a fresh random one when absent. */
  orchestratorToken?: string;
  /** Base environment of every process (PATH, HOME, ...): the caller's, never read here. */
  env: Record<string, string>;
  /**
   * false: the cluster side alone (`aiplane cluster up`), no gateway here: on a shared login node a
   * gateway on 127.0.0.1 would serve every co-tenant, so the researcher's own machine runs it.
   */
  gateway?: boolean;
}

/** The cluster side: everything but the gateway. */
export interface RunningControlPlane {
  /** The orchestrator's TCP listener for compute-node clients, as `connection.json` names it. */
  orchestratorUrl: string;
  orchestratorSocket: string;
  proxySocket: string;
  /** The TCP twin's URL (`proxyTcpPort`), or undefined. */
  proxyUrl: string | undefined;
  runtimeDir: string;
  /** `{url, token}` for on-cluster clients, 0600. */
  connectionFile: string;
  orchestratorToken: string;
  supervisor: ProcessSupervisor;
  stop(): Promise<void>;
}

export interface RunningStack extends RunningControlPlane {
  gatewayUrl: string;
}

/** The gateway's port for `npm start`; the orchestrator's TCP port is a free one unless given. */
export const DEFAULT_PORTS = { gateway: 8001, orchestrator: 0 } as const;

const LISTENING = ['listening'];

/** 32 random bytes, hex: the hops refuse tokens under 32 bytes. */
export function generateToken(): string {
  return randomBytes(32).toString('hex');
}

function portOf(fields: Record<string, unknown>, name: string): number {
  const { port } = fields;
  if (typeof port !== 'number') throw new StackNotReadyError(`${name} did not say which port it listens on`);
  return port;
}

/** How long the stack may take, once every process is up, to be ready as the gateway sees it. */
const STACK_READY_TIMEOUT_MS = 30_000;

export class StackNotReadyError extends Error {
  readonly code = 'STACK_NOT_READY';
}

/** Starts the five services, the worker last so no job runs before the rest is up, waiting for each to report ready. */
export function startStack(
  options: StackOptions & { gateway?: true },
  output?: SupervisorOptions['output'],
): Promise<RunningStack>;
/** The same without the gateway: ready once the orchestrator, through its socket, takes a create. */
export function startStack(
  options: StackOptions & { gateway: false },
  output?: SupervisorOptions['output'],
): Promise<RunningControlPlane>;
export async function startStack(
  options: StackOptions,
  output?: SupervisorOptions['output'],
): Promise<RunningStack | RunningControlPlane> {
  const ports = { ...DEFAULT_PORTS, ...options.ports };
  const dist = (app: string): string => path.join(options.root, 'dist', 'apps', app, 'src', 'main.js');
  const base: Record<string, string> = {
    ...options.env,
    REDIS_URL: options.redisUrl,
    REDIS_PREFIX: options.redisPrefix ?? 'aiplane',
    RECIPES_DIR: path.join(options.root, 'recipes'),
    LOG_LEVEL: options.logLevel ?? 'info',
  };
  const runtimeDir = ensurePrivateDir(options.runtimeDir);
  const orchestratorSocket = socketPathIn(runtimeDir, 'orchestrator.sock');
  const proxySocket = socketPathIn(runtimeDir, 'proxy.sock');
  const proxyUrl =
    options.proxyTcpPort === undefined ? undefined : `http://127.0.0.1:${String(options.proxyTcpPort)}`;
  const connectionFile = path.join(runtimeDir, 'connection.json');
  const orchestratorToken = options.orchestratorToken ?? generateToken();
  const supervisor = new ProcessSupervisor({ cwd: options.root, ...(output ? { output } : {}) });
  // The gateway first: on one machine it must hold its port before any workload picks a free one.
  const ssh = options.ssh;
  let gatewayPort: number | undefined;
  let orchestratorUrl = '';
  try {
    const gateway =
      options.gateway === false
        ? undefined
        : await supervisor.start({
            name: 'gateway',
            script: dist('gateway'),
            env: {
              ...base,
              GATEWAY_PORT: String(ports.gateway),
              // Both sockets, in SSH mode as the SSH server sees them: on this one-machine cluster, the same paths.
              ORCHESTRATOR_SOCKET: orchestratorSocket,
              ORCHESTRATOR_TOKEN: orchestratorToken,
              // The data plane goes straight to the proxy.
              PROXY_SOCKET: proxySocket,
              PROXY_TOKEN: orchestratorToken,
              ...(ssh
                ? {
                    SSH_HOST: ssh.host,
                    SSH_PORT: String(ssh.port),
                    SSH_USER: ssh.user,
                    SSH_KEY_PATH: ssh.keyPath,
                    SSH_KNOWN_HOSTS_PATH: ssh.knownHostsPath,
                    // Where it pins the login node: this stack's, not the user's ~/.local/state.
                    GATEWAY_STATE_DIR: options.stateDir,
                  }
                : {}),
            },
            readyMessages: LISTENING,
          });
    if (gateway !== undefined) gatewayPort = portOf(gateway, 'the gateway');
    const orchestrator = await supervisor.start({
      name: 'orchestrator',
      script: dist('orchestrator'),
      env: {
        ...base,
        ORCHESTRATOR_SOCKET: orchestratorSocket,
        ORCHESTRATOR_HOST: options.clusterHost ?? '127.0.0.1',
        ORCHESTRATOR_PORT: String(ports.orchestrator),
        ORCHESTRATOR_CONNECTION_FILE: connectionFile,
        PROXY_SOCKET: proxySocket,
        ORCHESTRATOR_TOKEN: orchestratorToken,
        PROXY_TOKEN: orchestratorToken,
        // The fit check sizes GPUs by the partition a job goes to, the worker's default included.
        ...(options.slurmPartition ? { SLURM_PARTITION: options.slurmPartition } : {}),
      },
      readyMessages: ['listening for cluster clients'],
    });
    orchestratorUrl = typeof orchestrator.url === 'string' ? orchestrator.url : '';
    // One secret between the hops: the proxy takes requests only from the gateway and the orchestrator.
    await supervisor.start({
      name: 'proxy',
      script: dist('proxy'),
      env: { ...base, PROXY_SOCKET: proxySocket, PROXY_TOKEN: orchestratorToken },
      readyMessages: LISTENING,
    });
    if (options.proxyTcpPort !== undefined) {
      await supervisor.start({
        name: 'proxy-tcp',
        script: dist('proxy'),
        env: {
          ...base,
          PROXY_HOST: '127.0.0.1',
          PROXY_PORT: String(options.proxyTcpPort),
          PROXY_TOKEN: orchestratorToken,
        },
        readyMessages: LISTENING,
      });
    }
    await supervisor.start({
      name: 'health-prober',
      script: dist('health-prober'),
      env: {
        ...base,
        PROBE_INTERVAL_MS: String(options.probeIntervalMs ?? 1_000),
        PROBE_TIMEOUT_MS: String(Math.max(200, (options.probeIntervalMs ?? 1_000) - 300)),
      },
      readyMessages: ['health-prober started'],
    });
    await supervisor.start({
      name: 'slurm-worker',
      script: dist('slurm-worker'),
      env: {
        ...base,
        SCHEDULER: options.scheduler,
        RUNTIME_PROFILE: options.runtimeProfile ?? 'local',
        STATE_DIR: options.stateDir,
        SIMULATORS_DIR: path.join(options.root, 'dist', 'apps'),
        // A one-machine cluster: every node is this machine.
        ENDPOINT_HOST: '127.0.0.1',
        POLL_INTERVAL_MS: String(options.pollIntervalMs ?? 1_000),
        ...(options.slurmPartition ? { SLURM_PARTITION: options.slurmPartition } : {}),
      },
      readyMessages: ['slurm-worker consuming the scheduler queue'],
    });
    // Each process being up is not yet a stack that takes a create: that is when the gateway's
    // /health leaves "starting", and a caller may create the moment this returns.
    if (gatewayPort === undefined) {
      await waitForOrchestratorReady(orchestratorSocket, orchestratorToken, STACK_READY_TIMEOUT_MS);
    } else {
      await waitForHealthy(`http://127.0.0.1:${String(gatewayPort)}`, STACK_READY_TIMEOUT_MS);
    }
  } catch (error) {
    await supervisor.stopAll();
    throw error;
  }
  const plane: RunningControlPlane = {
    orchestratorUrl,
    orchestratorSocket,
    proxySocket,
    proxyUrl,
    runtimeDir,
    connectionFile,
    orchestratorToken,
    supervisor,
    stop: () => supervisor.stopAll(),
  };
  return gatewayPort === undefined
    ? plane
    : { ...plane, gatewayUrl: `http://127.0.0.1:${String(gatewayPort)}` };
}

/**
 * Until the orchestrator's /api/ready answers 200 on its socket (store up, a slurm-worker
 * consuming): what the gateway's /health asks it, for a stack without a gateway.
 */
export async function waitForOrchestratorReady(
  socketPath: string,
  token: string,
  timeoutMs: number,
): Promise<void> {
  const last = await pollFor200(() => getOverSocket(socketPath, '/api/ready', token), timeoutMs);
  if (last === undefined) return;
  throw new StackNotReadyError(
    `the control plane was not ready within ${timeoutMs} ms: the orchestrator's /api/ready last said ${last}`,
  );
}

/**
 * Asks `probe` every 200 ms until it answers 200 (undefined) or `timeoutMs` passed: then what it
 * last answered, or why it did not.
 */
async function pollFor200(
  probe: () => Promise<{ status: number; body: string }>,
  timeoutMs: number,
): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    try {
      const { status, body } = await probe();
      if (status === 200) return undefined;
      last = `${String(status)} ${body.slice(0, 500)}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return last;
}

function getOverSocket(
  socketPath: string,
  urlPath: string,
  token: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, path: urlPath, headers: { authorization: `Bearer ${token}` }, timeout: 5_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
    req.end();
  });
}

/** Until the gateway's /health answers 200 (it answers 503 `starting` until the stack was ready once). */
export async function waitForHealthy(gatewayUrl: string, timeoutMs: number): Promise<void> {
  const last = await pollFor200(async () => {
    const res = await fetch(`${gatewayUrl}/health`, { signal: AbortSignal.timeout(5_000) });
    return { status: res.status, body: await res.text() };
  }, timeoutMs);
  if (last === undefined) return;
  throw new StackNotReadyError(
    `the stack was not ready within ${timeoutMs} ms: the gateway's /health last said ${last}`,
  );
}
