import { rmSync } from 'node:fs';
import { TERMINAL_STATUSES } from '@aiplane/contracts';
import { LocalScheduler, SlurmScheduler, ExecFileCommandRunner } from '@aiplane/scheduler';
import { startStack, type RunningStack, type StackOptions } from '@aiplane/stack';
import { apiClient, type Api } from './api.client';
import {
  baseEnv,
  makeRuntimeDir,
  makeStateDir,
  readInfra,
  ROOT,
  slurmJobsUnder,
  uniquePrefix,
  type Infra,
} from './infra.fixture';

export interface StackLogLine {
  name: string;
  line: string;
}

/** What a suite says about its stack; everything else (root, Redis, state dir, prefix) is chosen here. */
export interface StackFixtureOptions {
  label: string;
  scheduler: StackOptions['scheduler'];
  runtimeProfile?: StackOptions['runtimeProfile'];
  /**
   * The gateway's port, and the orchestrator's TCP port for on-cluster clients (a free one when
   * absent); the proxy and the gateway's way to the orchestrator are Unix sockets.
   */
  ports: { gateway: number; orchestrator?: number };
  /** The gateway reaches the orchestrator over SSH: the machine's sshd, or the one given here. */
  ssh?: boolean | NonNullable<StackOptions['ssh']>;
  /** Another Redis than the machine's (the fault suite kills its own). */
  redisUrl?: string;
  pollIntervalMs?: number;
  probeIntervalMs?: number;
  /** Added to every process's environment (a stand-in Hub's URL, ...). */
  env?: Record<string, string>;
}

/** Filled in by the fixture's beforeAll; read it inside tests and hooks, never at describe time. */
export interface StackFixture {
  stack: RunningStack;
  api: Api;
  infra: Infra;
  stateDir: string;
  /** The stack's sockets and connection.json. */
  runtimeDir: string;
  redisPrefix: string;
  /** Every line the stack's processes printed, for tests of what never reaches a log. */
  logs: StackLogLine[];
  /** Keep the job directories after the suite: they explain a broken step. */
  keepStateDir: boolean;
}

/**
 * Starts the whole stack once for the enclosing describe and takes it down after it, leaving
 * nothing behind: every service still active is cancelled through the API, then any job left in
 * the suite's state dir (SLURM) or detached workload (local executor) is stopped. `options` is
 * called in beforeAll, so it may use what earlier beforeAll hooks set up (a stand-in Hub).
 */
export function withStack(options: () => StackFixtureOptions): StackFixture {
  let client: Api | undefined;
  // Usable from describe time on (`const { api } = withStack(...)`); it answers once the stack is up.
  const api = (<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) => {
    if (client === undefined)
      throw new Error('withStack: the stack is not started yet (call api in a test or hook)');
    return client<T>(method, path, body, headers);
  }) as Api;
  const fixture = { api, logs: [] as StackLogLine[], keepStateDir: false } as StackFixture;
  let scheduler: StackOptions['scheduler'] = 'local';

  beforeAll(async () => {
    const wanted = options();
    scheduler = wanted.scheduler;
    fixture.infra = readInfra();
    fixture.stateDir = makeStateDir(wanted.label);
    fixture.runtimeDir = makeRuntimeDir();
    fixture.redisPrefix = uniquePrefix(wanted.label);
    const ssh = wanted.ssh === true ? fixture.infra.ssh : wanted.ssh || undefined;
    try {
      fixture.stack = await startStack(
        {
          root: ROOT,
          redisUrl: wanted.redisUrl ?? fixture.infra.redisUrl,
          redisPrefix: fixture.redisPrefix,
          scheduler: wanted.scheduler,
          ...(wanted.runtimeProfile ? { runtimeProfile: wanted.runtimeProfile } : {}),
          stateDir: fixture.stateDir,
          runtimeDir: fixture.runtimeDir,
          ports: wanted.ports,
          ...(ssh ? { ssh } : {}),
          ...(wanted.scheduler === 'slurm' ? { slurmPartition: fixture.infra.slurmPartition } : {}),
          pollIntervalMs: wanted.pollIntervalMs ?? 500,
          probeIntervalMs: wanted.probeIntervalMs ?? 500,
          env: { ...baseEnv(), ...wanted.env },
        },
        (name, line) => {
          fixture.logs.push({ name, line });
        },
      );
    } catch (error) {
      console.error(fixture.logs.map((entry) => `${entry.name}: ${entry.line}`).join('\n'));
      throw error;
    }
    client = apiClient(fixture.stack.gatewayUrl);
  });

  afterAll(async () => {
    // What beforeAll got to before it failed, if it did.
    const { stack, stateDir } = fixture as Partial<StackFixture>;
    if (stateDir === undefined) return;
    try {
      if (stack !== undefined && client !== undefined) {
        // A failed test must not leave a job holding the node's GPUs for the next suite.
        const listed = await fixture.api<{ id: string; status: string }[]>('GET', '/api/v1/services');
        for (const service of Array.isArray(listed.body) ? listed.body : []) {
          // Groups answer their overall status (degraded, partially_running...): anything not final.
          if (!(TERMINAL_STATUSES as readonly string[]).includes(service.status)) {
            await fixture.api('POST', `/api/v1/services/${service.id}/status`, { status: 'cancelled' });
          }
        }
      }
    } finally {
      await stack?.stop();
      if (scheduler === 'slurm') {
        const slurm = new SlurmScheduler(new ExecFileCommandRunner());
        for (const job of slurmJobsUnder(stateDir)) await slurm.cancel(job.id).catch(() => undefined);
      } else {
        // The local executor detaches workloads so that worker restarts spare them; stop any left.
        await new LocalScheduler({ stateDir }).cancelAll();
      }
      if (fixture.runtimeDir) rmSync(fixture.runtimeDir, { recursive: true, force: true });
      if (fixture.keepStateDir) console.error(`${stateDir}: job directories kept`);
      // A cancelled job's script writes its exit status after reaping its processes (up to the
      // grace later), so a directory may gain a file while it is being removed: retry, not fail.
      else rmSync(stateDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 300 });
    }
  });

  return fixture;
}
