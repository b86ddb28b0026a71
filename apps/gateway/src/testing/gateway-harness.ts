import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  // Its own state dir (where an SSH login node is pinned) unless the test shares one on purpose.
  const stateDir =
    env.GATEWAY_STATE_DIR === undefined ? await mkdtemp(join(tmpdir(), 'gateway-state-')) : undefined;
  const config = parseGatewayConfig({
    LOG_LEVEL: 'silent',
    ...(stateDir === undefined ? {} : { GATEWAY_STATE_DIR: stateDir }),
    ...env,
    GATEWAY_PORT: '0',
  });
  const app = await createGatewayApp(config, createLogger('gateway', config.logLevel));
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await app.close();
      if (stateDir !== undefined) await rm(stateDir, { recursive: true, force: true });
    },
  };
}
