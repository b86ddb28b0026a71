import type { AddressInfo } from 'node:net';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createLogger } from '@aiplane/server-kit';
import { createGatewayApp } from '../gateway.app';
import { parseGatewayConfig } from '../gateway.config';

export interface RunningGateway {
  app: NestExpressApplication;
  url: string;
  close(): Promise<void>;
}

/** The real gateway app on an ephemeral port, configured from `env` as main.ts would be. */
export async function startGateway(env: Record<string, string>): Promise<RunningGateway> {
  const config = parseGatewayConfig({ LOG_LEVEL: 'silent', ...env, GATEWAY_PORT: '0' });
  const app = await createGatewayApp(config, createLogger('gateway', config.logLevel));
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    close: () => app.close(),
  };
}
