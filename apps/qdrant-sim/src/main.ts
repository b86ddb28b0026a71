import { loadSimConfigFromProcess, SimConfigError, type SimConfig } from './sim.config';
import { startSim, type SimServer } from './sim.server';

// SLURM gives a job a grace period after SIGTERM; stay well inside the one second promised to the control plane.
const SHUTDOWN_DEADLINE_MS = 900;

function loadConfigOrExit(): SimConfig {
  try {
    return loadSimConfigFromProcess();
  } catch (error) {
    if (error instanceof SimConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const stopping = new AbortController();
  let sim: SimServer | undefined;

  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping.signal.aborted) return;
    process.stdout.write(`qdrant-sim: ${signal} received, shutting down\n`);
    setTimeout(() => process.exit(0), SHUTDOWN_DEADLINE_MS).unref();
    stopping.abort();
    if (sim === undefined) process.exit(0);
    // close() also waits for queued collection writes, so a stop right after an upsert keeps it.
    sim.close().then(
      () => process.exit(0),
      () => process.exit(0),
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  try {
    sim = await startSim(config, { signal: stopping.signal });
  } catch (error) {
    if (stopping.signal.aborted) return;
    throw error;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `qdrant-sim: failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
