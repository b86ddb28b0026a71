import type { NestExpressApplication } from '@nestjs/platform-express';
import { ORCHESTRATOR_PREFIX } from '@aiplane/contracts';

export interface ServedHttpApp {
  app: NestExpressApplication;
  /** `http://127.0.0.1:<port>`; request paths carry the prefix. */
  url: string;
  close(): Promise<void>;
}

/**
 * The app `create` builds (server-kit's createHttpApp, which this lib may not import: server-kit's
 * specs use it), served under a global prefix as the apps' main.ts serve theirs, on an ephemeral
 * port of 127.0.0.1 so specs can run side by side.
 */
export async function serveHttpApp(
  create: () => Promise<NestExpressApplication>,
  prefix: string = ORCHESTRATOR_PREFIX,
): Promise<ServedHttpApp> {
  const app = await create();
  app.setGlobalPrefix(prefix.slice(1));
  await app.listen(0, '127.0.0.1');
  return { app, url: await app.getUrl(), close: () => app.close() };
}

/**
 * `serveHttpApp` for the enclosing `describe`: served before its tests, closed after them.
 * Read `url` inside tests and hooks, never at describe time.
 */
export function withHttpApp(
  create: () => Promise<NestExpressApplication>,
  prefix: string = ORCHESTRATOR_PREFIX,
): { readonly url: string } {
  let served: ServedHttpApp | undefined;
  beforeAll(async () => {
    served = await serveHttpApp(create, prefix);
  });
  afterAll(async () => {
    await served?.close();
  });
  return {
    get url(): string {
      if (served === undefined) throw new Error('withHttpApp: url read before its beforeAll ran');
      return served.url;
    },
  };
}
