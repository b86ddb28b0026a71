import type { NestExpressApplication } from '@nestjs/platform-express';
import { ORCHESTRATOR_PREFIX } from '@aiplane/contracts';
import { createLogger } from '@aiplane/server-kit';
import { createOrchestratorApp } from '../orchestrator.app';
import { loadOrchestratorConfig } from '../orchestrator.config';

export interface RunningOrchestrator {
  app: NestExpressApplication;
  /** `127.0.0.1:<port>`, what a scrape target or a Host header names. */
  hostPort: string;
  /** The API's base URL, `http://127.0.0.1:<port>/api`. */
  api: string;
  close(): Promise<void>;
}

/**
 * The real orchestrator app on an ephemeral port, configured from `env` as main.ts would be. The
 * bearer-token check is left out unless `guard` is set: most int-specs are about the routes behind it.
 */
export async function startOrchestrator(
  env: Record<string, string>,
  { guard = false }: { guard?: boolean } = {},
): Promise<RunningOrchestrator> {
  const config = loadOrchestratorConfig({
    LOG_LEVEL: 'silent',
    ORCHESTRATOR_TOKEN: 'orchestrator-spec-token-0123456789abcdef',
    ...env,
    ORCHESTRATOR_PORT: '0',
  });
  const logger = createLogger('orchestrator', config.LOG_LEVEL);
  const app = await createOrchestratorApp(config, logger, { guard });
  await app.listen(0, '127.0.0.1');
  const hostPort = `127.0.0.1:${new URL(await app.getUrl()).port}`;
  return {
    app,
    hostPort,
    api: `http://${hostPort}${ORCHESTRATOR_PREFIX}`,
    close: () => app.close(),
  };
}
