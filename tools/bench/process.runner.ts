import { spawn, type ChildProcess } from 'node:child_process';

export function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Undo steps, run once, newest first, each on its own so one failure does not skip the rest. */
export class Cleanup {
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

/** The last lines every started process printed, shown when something fails. */
export class OutputTail {
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

export interface Spawned {
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts one of the bench's own processes; stop() is SIGTERM, then SIGKILL after 5 s. */
export function spawnOwn(
  name: string,
  command: string,
  args: string[],
  options: { cwd: string; env: Record<string, string> },
  tail: OutputTail,
): Spawned {
  // stdout to /dev/null as a job's goes to its log file; stderr kept for failures.
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) if (line !== '') tail.push(name, line);
  });
  let failed = false;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
    // Never started (not on PATH, not executable): said in the tail, and nothing to stop.
    child.once('error', (error) => {
      failed = true;
      tail.push(name, `could not start ${command}: ${error.message}`);
      resolve();
    });
  });
  return {
    child,
    stop: async () => {
      if (failed || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
      }, 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs the bench body with clean-up on success, failure and Ctrl-C (twice: exit at once). */
export async function runWithCleanup(body: (cleanup: Cleanup) => Promise<void>): Promise<void> {
  const cleanup = new Cleanup();
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
    await body(cleanup);
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
