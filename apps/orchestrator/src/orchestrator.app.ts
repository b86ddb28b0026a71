import type { DynamicModule, Type } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { CONTROL_BODY_LIMIT, isPassThrough, ORCHESTRATOR_PREFIX } from '@aiplane/contracts';
import { AppMetrics } from '@aiplane/metrics';
import {
  createHttpApp,
  instrumentHttpServer,
  METRICS,
  passThroughPool,
  PassThroughDispatcher,
  RequestGate,
  SOCKET_BASE_URL,
  type Logger,
} from '@aiplane/server-kit';
import { AppModule } from './app.module';
import { BearerTokenGuard } from './auth/bearer-token.guard';
import type { OrchestratorConfig } from './orchestrator.config';

export interface OrchestratorAppOptions {
  /** In place of the whole AppModule (specs serving a few controllers). */
  module?: Type | DynamicModule;
  /** Require ORCHESTRATOR_TOKEN from every client; the int-specs of the routes behind it leave it out. */
  guard?: boolean;
}

/**
 * The orchestrator's app, ready to listen: the control plane in Nest behind the bearer token, and
 * in front of Nest the data-plane pass-through for on-cluster clients (root /v1, the per-service
 * OpenAI and Qdrant forms, every table route with a proxy path), which checks the same token and
 * streams to the proxy with the proxy's own. Shared by main.ts and the specs.
 */
export async function createOrchestratorApp(
  config: OrchestratorConfig,
  logger: Logger,
  options: OrchestratorAppOptions = {},
): Promise<NestExpressApplication> {
  // Only control-plane routes reach Nest: the data plane's larger bodies are streamed before it.
  const app = await createHttpApp(options.module ?? AppModule.forRoot(config, logger), {
    logger,
    bodyLimit: CONTROL_BODY_LIMIT,
  });
  app.setGlobalPrefix(ORCHESTRATOR_PREFIX.slice(1));
  const token = options.guard === false ? undefined : config.ORCHESTRATOR_TOKEN;
  const guard = token === undefined ? undefined : new BearerTokenGuard(token);
  if (guard) app.useGlobalGuards(guard);
  // The proxy's socket when it has one (the URL then only names the Host header), else its URL.
  const proxyBaseUrl = config.PROXY_SOCKET === undefined ? config.PROXY_URL : SOCKET_BASE_URL;
  const passThrough = new PassThroughDispatcher({
    hop: 'orchestrator',
    upstream: {
      name: 'data-plane proxy',
      baseUrl: proxyBaseUrl,
      dispatcher: passThroughPool(proxyBaseUrl, { socketPath: config.PROXY_SOCKET }),
      token: config.PROXY_TOKEN,
      timeoutMs: config.UPSTREAM_TIMEOUT_MS,
    },
    // No `refuse`: the RequestGate below has checked the token before the pass-through sees a request.
  });
  const server = app.getHttpServer();
  passThrough.install(server);
  // In front of the pass-through and of Nest: the token, then the declared body size, are checked
  // before a byte of the body is read (the guard stays, for routes served without this app).
  new RequestGate({
    hop: 'orchestrator',
    ...(guard ? { refuse: (req) => guard.refusal(req.headers.authorization) } : {}),
  }).install(server);
  // Outermost, so that what the gate refuses (a missing token) is counted too.
  instrumentHttpServer(server, {
    hop: 'orchestrator',
    metrics: metricsOf(app).http(),
    dataPlane: (method, url) => isPassThrough('orchestrator', method, url),
  });
  server.once('close', () => {
    passThrough.close();
  });
  return app;
}

/** The app's registry; a spec's module without the platform gets one of its own. */
function metricsOf(app: NestExpressApplication): AppMetrics {
  try {
    return app.get<AppMetrics>(METRICS, { strict: false });
  } catch {
    return new AppMetrics('orchestrator');
  }
}
