/** What a framework-free server process (the simulators) hands to `runConfiguredProcess`. */
export interface ConfiguredProcess<C, S extends { close(): Promise<void> }> {
  /** Prefixes the process's own lines: `<name>: SIGTERM received, shutting down`. */
  name: string;
  /** Reads the environment; throws an error `isConfigError` knows when it is invalid. */
  loadConfig(): C;
  isConfigError(error: unknown): error is Error;
  /** Starts serving; `signal` aborts a start that is still waiting (a startup delay, a port to bind). */
  start(config: C, options: { signal: AbortSignal }): Promise<S>;
  /** How long `close()` may take after a signal before the process exits anyway. */
  shutdownDeadlineMs: number;
  /** How often the parent is checked; the process shuts down as if signalled once it is gone. */
  parentPollMs?: number;
}

const DEFAULT_PARENT_POLL_MS = 500;

/**
 * Runs the process until SIGTERM or SIGINT, or until its parent is gone: a bad config exits 1 with
 * its message alone (the operator reads it in the job log), a failed start exits 1, and a signal
 * closes the server but exits 0 by the deadline whatever close() does.
 */
export function runConfiguredProcess<C, S extends { close(): Promise<void> }>(
  run: ConfiguredProcess<C, S>,
): void {
  serve(run).catch((error: unknown) => {
    process.stderr.write(
      `${run.name}: failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  });
}

function loadConfigOrExit<C, S extends { close(): Promise<void> }>(run: ConfiguredProcess<C, S>): C {
  try {
    return run.loadConfig();
  } catch (error) {
    if (run.isConfigError(error)) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

async function serve<C, S extends { close(): Promise<void> }>(run: ConfiguredProcess<C, S>): Promise<void> {
  const config = loadConfigOrExit(run);
  const stopping = new AbortController();
  let server: S | undefined;

  const shutdown = (reason: string): void => {
    if (stopping.signal.aborted) return;
    process.stdout.write(`${run.name}: ${reason}, shutting down\n`);
    setTimeout(() => process.exit(0), run.shutdownDeadlineMs).unref();
    stopping.abort();
    if (server === undefined) process.exit(0);
    server.close().then(
      () => process.exit(0),
      () => process.exit(0),
    );
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      shutdown(`${signal} received`);
    });
  }
  watchParent(run.parentPollMs ?? DEFAULT_PARENT_POLL_MS, (parent) => {
    shutdown(`parent process ${parent} is gone`);
  });

  try {
    server = await run.start(config, { signal: stopping.signal });
  } catch (error) {
    if (stopping.signal.aborted) return;
    throw error;
  }
}

/**
 * A simulator runs under a job's script; if that script is killed outright, nothing is left to stop
 * the simulator, and where the job's processes are tracked by parent links (SLURM's
 * proctrack/linuxproc, the local executor) an orphan outlives its job holding its socket or port.
 * Node has no parent-death signal, so the parent is polled: a new parent (init, a subreaper) means
 * the old one is gone. process.ppid asks the kernel on every read.
 */
function watchParent(pollMs: number, onGone: (parent: number) => void): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone(parent);
  }, pollMs);
  timer.unref();
}
