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

/**
 * `serveHttpModule` for the enclosing `describe`: served before its tests, closed after them.
 * Read `url` inside tests and hooks, never at describe time.
 */
export function withHttpModule(
  module: Type | DynamicModule,
  options: HttpAppOptions & { prefix?: string },
): { readonly url: string } {
  let served: ServedHttpApp | undefined;
  beforeAll(async () => {
    served = await serveHttpModule(module, options);
  });
  afterAll(async () => {
    await served?.close();
  });
  return {
    get url(): string {
      if (served === undefined) throw new Error('withHttpModule: url read before its beforeAll ran');
      return served.url;
    },
  };
}
