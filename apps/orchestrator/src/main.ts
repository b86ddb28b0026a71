import 'reflect-metadata';
import * as os from 'node:os';
import { writePrivateFile } from '@aiplane/config';
import { createLogger, listen, listenBeside, listenOnSocket } from '@aiplane/server-kit';
import { createOrchestratorApp } from './orchestrator.app';
import { loadOrchestratorConfig } from './orchestrator.config';

/** A wildcard bind is no address a client can use: it is told the machine's name instead. */
function advertisedHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return os.hostname();
  return host.includes(':') ? `[${host}]` : host;
}

async function main(): Promise<void> {
  const config = loadOrchestratorConfig();
  const logger = createLogger('orchestrator', config.LOG_LEVEL, undefined, config.LOG_FORMAT);
  const app = await createOrchestratorApp(config, logger);
  if (config.ORCHESTRATOR_SOCKET === undefined) {
    await listen(app, config.ORCHESTRATOR_HOST, config.ORCHESTRATOR_PORT, logger);
    return;
  }
  // The gateway comes in over the socket; compute-node clients, which cannot reach it, over TCP
  // behind the same token, on a port picked free when ORCHESTRATOR_PORT is 0.
  await listenOnSocket(app, config.ORCHESTRATOR_SOCKET, logger);
  const address = await listenBeside(app, config.ORCHESTRATOR_HOST, config.ORCHESTRATOR_PORT);
  const url = `http://${advertisedHost(address.address)}:${String(address.port)}`;
  if (config.ORCHESTRATOR_CONNECTION_FILE !== undefined) {
    writePrivateFile(
      config.ORCHESTRATOR_CONNECTION_FILE,
      `${JSON.stringify({ url, token: config.ORCHESTRATOR_TOKEN }, null, 2)}\n`,
    );
  }
  logger.info(
    { url, connection_file: config.ORCHESTRATOR_CONNECTION_FILE ?? null },
    'listening for cluster clients',
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
