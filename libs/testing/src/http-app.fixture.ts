import type { DynamicModule, Type } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { ORCHESTRATOR_PREFIX } from '@aiplane/contracts';
import { createHttpApp, type HttpAppOptions } from '@aiplane/server-kit';

export interface ServedHttpApp {
  app: NestExpressApplication;
  /** `http://127.0.0.1:<port>`; request paths carry the prefix. */
  url: string;
  close(): Promise<void>;
}

/**
 * `module` served as the apps' main.ts serve theirs (createHttpApp, a global prefix), on an
 * ephemeral port of 127.0.0.1 so specs can run side by side.
 */
export async function serveHttpModule(
  module: Type | DynamicModule,
  options: HttpAppOptions & { prefix?: string },
): Promise<ServedHttpApp> {
  const { prefix = ORCHESTRATOR_PREFIX, ...appOptions } = options;
  const app = await createHttpApp(module, appOptions);
  app.setGlobalPrefix(prefix.slice(1));
  await app.listen(0, '127.0.0.1');
  return { app, url: await app.getUrl(), close: () => app.close() };
}
