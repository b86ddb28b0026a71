/**
 * A tiny client for the aiplane gateway, shared by the TypeScript examples. Node 20 built-ins only
 * (global fetch, node:util): copy it next to your own code as it is.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export const DEFAULT_GATEWAY = 'http://localhost:8001';

/** Statuses a service passes through before it serves; anything else is final. */
const STARTING = ['pending', 'configuring'];
/** Group statuses from which a group can still become fully `running`. */
const GROUP_STARTING = ['pending', 'configuring', 'partially_running'];

/** A step of an example did not go as the API promises. */
export class ExampleError extends Error {
  readonly code: string = 'EXAMPLE_FAILED';
}

/** The gateway answered with an HTTP error status. */
export class ApiError extends ExampleError {
  override readonly code = 'API_ERROR';

  constructor(
    readonly method: string,
    readonly url: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    const detail = typeof body === 'object' && body !== null && 'message' in body ? body.message : body;
    super(
      `${method} ${url} -> HTTP ${status}: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`,
    );
  }
}

export interface ServiceRecord {
  id: string;
  name: string;
  recipe_name: string;
  status: string;
  endpoint: string | null;
  job_id: string;
}

export interface GroupRecord extends ServiceRecord {
  group_id: string;
  total_replicas: number;
  gpu_per_replica: number;
  base_port: number;
}

export interface GroupStatus {
  group_id: string;
  overall_status: string;
  total_replicas: number;
  healthy_replicas: number;
  starting_replicas: number;
  pending_replicas: number;
  failed_replicas: number;
  replica_statuses: { id: string; status: string; endpoint: string | null; healthy: boolean }[];
}

export interface PromptAnswer {
  success: boolean;
  text: string;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  service_id: string;
  endpoint_used: 'chat' | 'completions';
  model: string;
  /** Replica groups only: the replica that answered, `<job_id>:<port>`. */
  routed_to?: string;
}

export interface CancelAnswer {
  success: boolean;
  message: string;
  replicas_updated?: number;
}

export function say(message = ''): void {
  process.stdout.write(`${message}\n`);
}

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ExampleError(message);
}

export interface ExampleOptions {
  gateway: string;
  timeoutMs: number;
  /** The example's own options, by name. */
  values: Record<string, string | undefined>;
}

export interface OptionSpec {
  help: string;
  default?: string;
}

/**
 * `--gateway` (default `$AIPLANE_GATEWAY` or http://localhost:8001), `--timeout` (seconds to wait for
 * readiness) and the example's own string options. The only place the examples read the environment.
 */
export function parseOptions(description: string, own: Record<string, OptionSpec> = {}): ExampleOptions {
  const specs: Record<string, OptionSpec> = {
    gateway: {
      help: 'gateway base URL (default: $AIPLANE_GATEWAY or http://localhost:8001)',
      default: process.env.AIPLANE_GATEWAY ?? DEFAULT_GATEWAY,
    },
    timeout: {
      help: 'seconds to wait for readiness (default: 600; a real model download takes minutes)',
      default: '600',
    },
    ...own,
  };
  const { values } = parseCommandLine({
    args: process.argv.slice(2),
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      ...Object.fromEntries(
        Object.entries(specs).map(([name, spec]) => [
          name,
          spec.default === undefined
            ? { type: 'string' as const }
            : { type: 'string' as const, default: spec.default },
        ]),
      ),
    },
  });
  if (values.help === true) {
    say(description);
    say();
    for (const [name, spec] of Object.entries(specs)) say(`  --${name.padEnd(18)} ${spec.help}`);
    process.exit(0);
  }
  const strings = values as Record<string, string | undefined>;
  const timeout = Number(strings.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw new ExampleError('--timeout must be a positive number');
  return { gateway: strings.gateway ?? DEFAULT_GATEWAY, timeoutMs: timeout * 1000, values: strings };
}

/** node:util's parseArgs, with a usage mistake reported as one line rather than a stack trace. */
function parseCommandLine<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    throw new ExampleError(`${error instanceof Error ? error.message : String(error)} (try --help)`);
  }
}

export function integerOption(options: ExampleOptions, name: string): number | undefined {
  const raw = options.values[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new ExampleError(`--${name} must be a whole number`);
  return value;
}

let interrupted = false;

/** Waits between polls; after Ctrl-C (or SIGTERM) it throws instead, so that the `finally` cleanup runs. */
async function sleep(ms: number): Promise<void> {
  if (!interrupted) await new Promise((resolve) => setTimeout(resolve, ms));
  if (interrupted) throw new ExampleError('interrupted');
}

/** JSON over HTTP to `<gateway>/api/v1`; every error status throws an ApiError. */
export class Gateway {
  readonly base: string;

  constructor(
    baseUrl: string,
    private readonly requestTimeoutMs = 120_000,
  ) {
    const trimmed = baseUrl.replace(/\/+$/, '');
    this.base = trimmed.endsWith('/api/v1') ? trimmed : `${trimmed}/api/v1`;
  }

  /** The parsed JSON body, or the text of a non-JSON answer (Prometheus metrics). */
  async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const url = `${this.base}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          accept: 'application/json, text/plain',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? null : JSON.stringify(body),
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
    } catch (error) {
      // fetch hides the reason (ECONNREFUSED, a timeout) in `cause`.
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new ExampleError(
        `${method} ${url} failed: ${reason} (is the gateway running? try \`npm start\`)`,
      );
    }
    const text = await response.text();
    let parsed: unknown = text;
    if ((response.headers.get('content-type') ?? '').includes('json')) {
      try {
        parsed = JSON.parse(text) as unknown;
      } catch {
        parsed = text;
      }
    }
    if (!response.ok) throw new ApiError(method, url, response.status, parsed);
    return parsed;
  }

  async get<T>(path: string): Promise<T> {
    return (await this.request('GET', path)) as T;
  }

  async post<T>(path: string, body: unknown = {}): Promise<T> {
    return (await this.request('POST', path, body)) as T;
  }

  async put<T>(path: string, body: unknown = {}): Promise<T> {
    return (await this.request('PUT', path, body)) as T;
  }

  async delete<T>(path: string): Promise<T> {
    return (await this.request('DELETE', path)) as T;
  }

  async text(path: string): Promise<string> {
    const body = await this.request('GET', path);
    if (typeof body !== 'string') throw new ExampleError(`${path} did not answer text`);
    return body;
  }

  createService<T extends ServiceRecord = ServiceRecord>(recipeName: string, config?: object): Promise<T> {
    return this.post<T>('/services', { recipe_name: recipeName, ...(config ? { config } : {}) });
  }

  /** Polls `/services/{id}/status` until `running`. */
  async waitForService(id: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: string | undefined;
    for (;;) {
      const { status } = await this.get<{ status: string }>(`/services/${id}/status`);
      if (status !== last) say(`  status: ${status}`);
      last = status;
      if (status === 'running') return;
      if (!STARTING.includes(status)) {
        throw new ExampleError(
          `service ${id} ended as '${status}' before it was ready. ${await this.logsTail(id)}`,
        );
      }
      if (Date.now() > deadline) {
        throw new ExampleError(
          `service ${id} was still '${status}' after ${timeoutMs / 1000} s (raise --timeout?)`,
        );
      }
      await sleep(1000);
    }
  }

  /** Polls `/service-groups/{id}/status` until every replica runs. */
  async waitForGroup(id: string, timeoutMs: number): Promise<GroupStatus> {
    const deadline = Date.now() + timeoutMs;
    let last: string | undefined;
    for (;;) {
      const status = await this.get<GroupStatus>(`/service-groups/${id}/status`);
      const overall = status.overall_status;
      const summary = `${overall} (${status.healthy_replicas}/${status.total_replicas} replicas healthy)`;
      if (summary !== last) say(`  status: ${summary}`);
      last = summary;
      if (overall === 'running') return status;
      if (!GROUP_STARTING.includes(overall)) {
        throw new ExampleError(
          `group ${id} is '${overall}': it cannot become running. ${await this.logsTail(id)}`,
        );
      }
      if (Date.now() > deadline) {
        throw new ExampleError(
          `group ${id} was still '${overall}' after ${timeoutMs / 1000} s (raise --timeout?)`,
        );
      }
      await sleep(1000);
    }
  }

  /** The end of a service's logs, to show why it failed. */
  async logsTail(id: string, lines = 20): Promise<string> {
    const path = `/services/${id}/logs?lines=${lines}`;
    try {
      const { logs } = await this.get<{ logs: string }>(path);
      return `The last lines of GET ${path}:\n${logs.trimEnd()}`;
    } catch (error) {
      return `(GET ${path} failed: ${describe(error)})`;
    }
  }

  /** The recommended stop: the record stays for later analysis. */
  async cancelService(id: string): Promise<void> {
    const answer = await this.post<CancelAnswer>(`/services/${id}/status`, { status: 'cancelled' });
    say(`Cancelled service ${id}: ${answer.message}`);
  }

  async cancelGroup(id: string): Promise<void> {
    const answer = await this.post<CancelAnswer>(`/service-groups/${id}/status`, { status: 'cancelled' });
    say(`Cancelled group ${id}: ${answer.message} (${answer.replicas_updated ?? '?'} replicas)`);
  }
}

/** The sample lines of a Prometheus text exposition (no `# HELP` / `# TYPE`). */
export function sampleLines(exposition: string, prefix = ''): string[] {
  return exposition
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#') && line.startsWith(prefix));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A cleanup step for a `finally` block: a failure is reported and fails the example, but does not
 * replace the error that got the example there.
 */
export async function cleanup(step: () => Promise<unknown>): Promise<void> {
  try {
    await step();
  } catch (error) {
    say(`CLEANUP FAILED: ${describe(error)}`);
    process.exitCode = 1;
  }
}

/** Runs `main` and exits 0 on success, 1 on any failure (a failed cleanup step included). */
export function runExample(main: () => Promise<void>): void {
  // The first Ctrl-C stops the wait and lets cleanup cancel what was created; a second one kills.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      interrupted = true;
      say(`${signal}: stopping at the next wait, then cleaning up...`);
    });
  }
  main().then(
    () => {
      if (process.exitCode === 1) say('FAILED: a cleanup step failed (see above)');
      else say('Done.');
    },
    (error: unknown) => {
      if (error instanceof ExampleError) say(`FAILED: ${error.message}`);
      else {
        console.error(error);
        say(`FAILED: unexpected error: ${describe(error)}`);
      }
      process.exitCode = 1;
    },
  );
}
