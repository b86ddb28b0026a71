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
}

/**
 * Runs the process until SIGTERM or SIGINT: a bad config exits 1 with its message alone (the operator
 * reads it in the job log), a failed start exits 1, and a signal closes the server but exits 0 by
 * the deadline whatever close() does.
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

  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping.signal.aborted) return;
    process.stdout.write(`${run.name}: ${signal} received, shutting down\n`);
    setTimeout(() => process.exit(0), run.shutdownDeadlineMs).unref();
    stopping.abort();
    if (server === undefined) process.exit(0);
    server.close().then(
      () => process.exit(0),
      () => process.exit(0),
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  try {
    server = await run.start(config, { signal: stopping.signal });
  } catch (error) {
    if (stopping.signal.aborted) return;
    throw error;
  }
}
