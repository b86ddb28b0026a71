import 'reflect-metadata';
import { createLogger, listen, listenOnSocket } from '@aiplane/server-kit';
import { createProxyApp } from './platform/proxy-app.factory';
import { loadProxyConfig } from './proxy.config';

async function main(): Promise<void> {
  const config = loadProxyConfig();
  const logger = createLogger('proxy', config.LOG_LEVEL, undefined, config.LOG_FORMAT);
  const app = await createProxyApp(config, logger);
  if (config.PROXY_SOCKET !== undefined) await listenOnSocket(app, config.PROXY_SOCKET, logger);
  else await listen(app, config.PROXY_HOST, config.PROXY_PORT, logger);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
