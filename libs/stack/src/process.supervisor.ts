import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ProcessSpec {
  name: string;
  /** Script run with the current node binary. */
  script: string;
  env: Record<string, string>;
  /** The process counts as started once it logs a JSON line with one of these `msg` values. */
  readyMessages: readonly string[];
}

export interface SupervisorOptions {
  cwd: string;
  /** Where each output line goes, prefixed with its process name. */
  output?: (name: string, line: string) => void;
  readyTimeoutMs?: number;
}

interface Running {
  spec: ProcessSpec;
  child: ChildProcess;
  exited: Promise<number | null>;
}

export class ProcessStartError extends Error {
  readonly code = 'PROCESS_START';
}

/**
 * Starts the stack's processes and stops them all together. Shared by `npm start` and the e2e
 * tests, so the tests exercise the same wiring a user runs.
 */
export class ProcessSupervisor {
  private readonly running = new Map<string, Running>();
  /** Killed and not started again: what `reviveKilled` brings back. */
  private readonly killed = new Map<string, ProcessSpec>();

  constructor(private readonly options: SupervisorOptions) {}

  /** Resolves with the ready line's fields (where a process listens, when it picked a free port). */
  async start(spec: ProcessSpec): Promise<Record<string, unknown>> {
    this.killed.delete(spec.name);
    const child = spawn(process.execPath, [spec.script], {
      cwd: this.options.cwd,
      env: spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => {
        resolve(code);
      });
    });
    this.running.set(spec.name, { spec, child, exited });
    const timeoutMs = this.options.readyTimeoutMs ?? 30_000;
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      let ready = false;
      const timer = setTimeout(() => {
        reject(new ProcessStartError(`${spec.name} did not report ready within ${timeoutMs} ms`));
      }, timeoutMs);
      const onLine = (line: string): void => {
        this.options.output?.(spec.name, line);
        const fields = ready ? undefined : readyFields(line, spec.readyMessages);
        if (fields !== undefined) {
          ready = true;
          clearTimeout(timer);
          resolve(fields);
        }
      };
      createInterface({ input: child.stdout }).on('line', onLine);
      createInterface({ input: child.stderr }).on('line', onLine);
      void exited.then((code) => {
        if (!ready) {
          clearTimeout(timer);
          reject(new ProcessStartError(`${spec.name} exited with code ${String(code)} before it was ready`));
        }
      });
    });
  }

  pid(name: string): number | undefined {
    return this.running.get(name)?.child.pid;
  }

  /**
   * Hard-kills one process (fault tests); it is forgotten, so a later start may reuse the name.
   * Returns what it was started with, so that `start(await kill(name))` restarts it as it was.
   */
  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<ProcessSpec | undefined> {
    const entry = this.running.get(name);
    if (!entry) return undefined;
    entry.child.kill(signal);
    await entry.exited;
    this.running.delete(name);
    this.killed.set(name, entry.spec);
    return entry.spec;
  }

  /** Starts every process that was killed and not started since; resolves with their names. */
  async reviveKilled(): Promise<string[]> {
    const specs = [...this.killed.values()];
    for (const spec of specs) await this.start(spec);
    return specs.map((spec) => spec.name);
  }

  /** SIGTERM to all, in reverse start order, SIGKILL after the grace period. */
  async stopAll(graceMs = 8_000): Promise<void> {
    const entries = [...this.running.values()].reverse();
    this.running.clear();
    this.killed.clear();
    await Promise.all(
      entries.map(async ({ child, exited }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}

function readyFields(line: string, messages: readonly string[]): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    return typeof parsed.msg === 'string' && messages.includes(parsed.msg) ? parsed : undefined;
  } catch {
    return undefined;
  }
}
