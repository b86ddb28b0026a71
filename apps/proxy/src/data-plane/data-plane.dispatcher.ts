import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { INestApplication } from '@nestjs/common';
import {
  InvalidServiceIdError,
  matchPassThrough,
  OVERHEAD_HEADER,
  WORKLOAD_TIME_HEADER,
  type PassThrough,
  type RouteId,
} from '@aiplane/contracts';
import {
  acceptRequestId,
  bearerTokenCheck,
  formatMs,
  REQUEST_ID_HEADER,
  type Logger,
} from '@aiplane/server-kit';
import { CONFIG, LOGGER } from '../platform/platform.module';
import type { ProxyConfig } from '../proxy.config';
import { withWorkloadTiming, type WorkloadTiming } from '../upstream/upstream.client';
import { envelopeErrorBody, errorAnswer, openAiErrorBody, type ErrorAnswer } from './error-body.writer';
import { elapsedMs, sendJson, type Exchange } from './exchange.rules';
import { OpenAiForwarder } from './openai.forwarder';
import { PromptForwarder } from './prompt.forwarder';
import { QdrantForwarder } from './qdrant.forwarder';

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** The route-table routes the raw data plane serves instead of Nest (the others stay controllers). */
export const RAW_ROUTE_IDS: readonly RouteId[] = ['vllm.prompt'];

/**
 * Puts the raw data plane in front of Nest on the app's HTTP server: every request is checked for
 * the proxy's token, then the pass-through routes (root `/v1`, per-service `/v1`, the prompt, the
 * Qdrant pass-through) are served here with no body parser, validation pipeline or per-request log
 * line above debug; everything else goes on to Nest, with the same timing headers. Call it after the
 * app is created and before it listens.
 */
export function installDataPlane(app: INestApplication): void {
  const server = app.getHttpServer() as Server;
  const config = app.get<ProxyConfig>(CONFIG);
  const logger = app.get<Logger>(LOGGER);
  const openAi = app.get(OpenAiForwarder);
  const prompt = app.get(PromptForwarder);
  const qdrant = app.get(QdrantForwarder);
  const checkToken = bearerTokenCheck(config.PROXY_TOKEN);
  const [nest] = server.listeners('request') as RequestListener[];
  if (nest === undefined)
    throw new Error('the app has no request listener to put the data plane in front of');
  server.removeAllListeners('request');

  const authProblem = (req: IncomingMessage): string | undefined => {
    switch (checkToken(req.headers.authorization)) {
      case undefined:
        return undefined;
      case 'missing':
        return 'The proxy needs "Authorization: Bearer <PROXY_TOKEN>"; this request has no Authorization header';
      case 'not-bearer':
        return 'The proxy needs "Authorization: Bearer <PROXY_TOKEN>"; the header is not a bearer token';
      case 'wrong':
        return "The bearer token is not the proxy's token";
    }
  };

  const fail = (ex: Exchange, openAiShape: boolean, error: unknown): void => {
    const answer: ErrorAnswer = errorAnswer(error, config);
    if (answer.failure) {
      logger.warn(
        { request_id: ex.requestId, status: answer.status, err: answer.message },
        'data-plane request failed',
      );
    }
    if (answer.status === 500) logger.error({ request_id: ex.requestId, err: error }, 'unhandled error');
    sendJson(
      ex,
      answer.status,
      openAiShape ? openAiErrorBody(answer) : envelopeErrorBody(answer, ex.requestId),
      answer.headers,
    );
  };

  const serveRaw = (ex: Exchange, match: PassThrough): Promise<void> => {
    switch (match.kind) {
      case 'openai':
        return openAi.handle(ex, match);
      case 'prompt':
        return prompt.handle(ex, match);
      case 'qdrant':
        return qdrant.handle(ex, match);
      case 'route':
        return Promise.resolve();
    }
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const method = req.method ?? 'GET';
    // Liveness only, open without the token: it says no more than an open port does.
    if (url === '/health' && method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json', [OVERHEAD_HEADER]: '0.0' });
      res.end('{"status":"ok"}');
      return;
    }
    const ex: Exchange = {
      req,
      res,
      startedAt: performance.now(),
      requestId: acceptRequestId(req.headers[REQUEST_ID_HEADER]),
    };
    const openAiShape = url.startsWith('/v1') || /^\/api\/services\/vllm\/[^/]+\/v1(\/|$|\?)/.test(url);
    const unauthorised = authProblem(req);
    if (unauthorised !== undefined) {
      const answer: ErrorAnswer = {
        status: 401,
        reason: 'Unauthorized',
        message: unauthorised,
        code: 'invalid_proxy_token',
        details: {},
        headers: { 'www-authenticate': 'Bearer' },
        failure: false,
      };
      logger.warn(
        { request_id: ex.requestId, path: url.split('?', 1)[0] },
        'request without the proxy token',
      );
      sendJson(
        ex,
        401,
        openAiShape ? openAiErrorBody(answer) : envelopeErrorBody(answer, ex.requestId),
        answer.headers,
      );
      return;
    }
    let match: PassThrough | undefined;
    try {
      match = matchPassThrough('orchestrator', method, url);
    } catch (error) {
      if (!(error instanceof InvalidServiceIdError)) throw error;
      fail(ex, openAiShape, error);
      return;
    }
    if (match === undefined || match.kind === 'route') {
      serveNest(ex, nest);
      return;
    }
    // The request id goes down explicitly (CallContext), not in AsyncLocalStorage: see there.
    serveRaw(ex, match).then(
      () => {
        // Guarded: the line's fields would be worked out on every request even at info.
        if (!logger.isLevelEnabled('debug')) return;
        logger.debug(
          { request_id: ex.requestId, method, path: url.split('?', 1)[0], ms: formatMs(elapsedMs(ex)) },
          'data-plane request',
        );
      },
      (error: unknown) => {
        fail(ex, openAiShape, error);
      },
    );
  });
}

/**
 * Nest's routes get the same timing headers, stamped as the headers go out: the workload time is
 * what the workload calls made within the request added up.
 */
function serveNest(ex: Exchange, nest: RequestListener): void {
  const timing: WorkloadTiming = { workloadMs: 0 };
  const { res } = ex;
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
  res.writeHead = (...args: unknown[]) => {
    if (!res.headersSent) {
      res.setHeader(OVERHEAD_HEADER, formatMs(elapsedMs(ex) - timing.workloadMs));
      if (timing.workloadMs > 0) res.setHeader(WORKLOAD_TIME_HEADER, formatMs(timing.workloadMs));
    }
    return writeHead(...args);
  };
  withWorkloadTiming(timing, () => {
    nest(ex.req, res);
  });
}
