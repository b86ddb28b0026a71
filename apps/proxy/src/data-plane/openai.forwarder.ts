import { Inject, Injectable } from '@nestjs/common';
import { OPENAI_BODY_LIMIT, type PassThrough } from '@aiplane/contracts';
import { storedStatus } from '@aiplane/registry';
import { AppError, type Logger } from '@aiplane/server-kit';
import { CONFIG, LOGGER, UPSTREAM } from '../platform/platform.module';
import type { ProxyConfig } from '../proxy.config';
import { IdleService } from '../routing/idle.service';
import { ModelCatalogue, type CatalogueModel } from '../routing/model.catalogue';
import { WorkloadCaller } from '../routing/workload.caller';
import { WorkloadResolver, type ResolvedWorkload } from '../routing/workload.resolver';
import { UpstreamClient, type StreamedResponse } from '../upstream/upstream.client';
import { AllReplicasFailedError } from '../vllm/vllm.service';
import { CodedAppError } from './error-body.writer';
import {
  forwardedHeaders,
  hasBody,
  isJsonContentType,
  readBody,
  sendJson,
  type Exchange,
} from './exchange.rules';
import { relayAnswer } from './workload.relay';

/**
 * The OpenAI-compatible surface: root `/v1/...` routed by the body's `model` over every ready
 * replica of every service or group serving it, and `/api/services/vllm/{id}/v1/...` pinned to one
 * service or group. The body is read once, checked to be JSON, and its original bytes forwarded.
 */
@Injectable()
export class OpenAiForwarder {
  constructor(
    private readonly catalogue: ModelCatalogue,
    private readonly resolver: WorkloadResolver,
    private readonly caller: WorkloadCaller,
    private readonly idle: IdleService,
    @Inject(UPSTREAM) private readonly upstream: UpstreamClient,
    @Inject(CONFIG) private readonly config: ProxyConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async handle(ex: Exchange, match: PassThrough): Promise<void> {
    const method = ex.req.method ?? 'GET';
    const path = match.proxyPath;
    if (match.serviceId !== null) {
      const rest = path.slice(path.indexOf('/v1'));
      await this.pinned(ex, match.serviceId, method, rest);
      return;
    }
    const pathname = path.split('?', 1)[0] ?? path;
    if (method === 'GET' && pathname === '/v1/models') {
      sendJson(ex, 200, { object: 'list', data: (await this.catalogue.models()).map(modelObject) });
      return;
    }
    if (method === 'GET' && pathname.startsWith('/v1/models/')) {
      const id = decodeURIComponent(pathname.slice('/v1/models/'.length));
      const model = (await this.catalogue.models()).find((candidate) => candidate.id === id);
      if (!model) throw modelNotFound(id);
      sendJson(ex, 200, modelObject(model));
      return;
    }
    if (method !== 'POST') {
      throw new CodedAppError(404, 'Not Found', `Invalid URL (${method} ${pathname})`, 'unknown_url');
    }
    const body = await this.readJson(ex);
    const model = modelOf(body.parsed);
    const entry = (await this.catalogue.models()).find((candidate) => candidate.id === model);
    if (!entry) throw modelNotFound(model);
    // A use of every service serving the model while one of them is up; else the start of the idle ones.
    const serving = entry.ready.length > 0;
    for (const member of entry.members) {
      const status = storedStatus(member);
      if ((status === 'idle') !== serving) await this.idle.used(member, status);
    }
    if (!serving) {
      throw new CodedAppError(
        503,
        'Service not ready',
        entry.status === 'idle'
          ? `The model '${model}' was stopped on ${entry.services.join(', ')} after its idle_timeout without use; this request starts it again, retry once it is running`
          : `The model '${model}' is ${entry.status} on ${entry.services.join(', ')}; it accepts requests once it is running`,
        'model_not_ready',
        { status: entry.status },
        {
          estimatedStart: entry.queue?.estimated_start ?? null,
          startupSeconds: await this.resolver.observedStartupSeconds(entry.recipeName),
        },
      );
    }
    await this.forward(ex, this.catalogue.candidates(entry), method, path, body.raw, `model ${model}`);
  }

  private async pinned(ex: Exchange, id: string, method: string, rest: string): Promise<void> {
    const candidates = await this.resolver.candidates(id, 'vllm').catch((error: unknown) => {
      if (error instanceof AppError && error.status === 404) {
        throw new CodedAppError(404, 'Not Found', error.message, 'service_not_found');
      }
      throw error;
    });
    // Pinned to one service, a body need not name a model: the workload serves its own by default.
    const body = hasBody(ex.req) ? (await this.readJson(ex)).raw : undefined;
    await this.forward(ex, candidates, method, rest, body, `service ${id}`);
  }

  private async readJson(ex: Exchange): Promise<{ raw: Buffer; parsed: unknown }> {
    if (!isJsonContentType(ex.req)) {
      const sent = ex.req.headers['content-type'];
      throw new CodedAppError(
        415,
        'Unsupported Media Type',
        `Request bodies must be JSON sent with "Content-Type: application/json" (got ${sent === undefined ? 'no Content-Type' : JSON.stringify(sent.slice(0, 100))})`,
        'unsupported_media_type',
      );
    }
    const raw = await readBody(ex.req, OPENAI_BODY_LIMIT);
    try {
      return { raw, parsed: JSON.parse(raw.toString('utf8')) as unknown };
    } catch (error) {
      throw new CodedAppError(
        400,
        'Bad Request',
        `Request body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
        'invalid_json',
      );
    }
  }

  private async forward(
    ex: Exchange,
    candidates: readonly ResolvedWorkload[],
    method: string,
    path: string,
    body: Buffer | undefined,
    what: string,
  ): Promise<void> {
    const headers = forwardedHeaders(ex.req);
    const streamed = await this.caller.call(
      candidates,
      (workload): Promise<StreamedResponse> =>
        this.upstream.stream(workload, { method, path, headers, body, context: { requestId: ex.requestId } }),
      (attempted, reason) =>
        new AllReplicasFailedError(`No replica serving ${what} could be reached: ${reason}`, attempted),
    );
    relayAnswer(ex, streamed, this.logger);
  }
}

function modelOf(body: unknown): string {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new CodedAppError(400, 'Bad Request', 'Request body must be a JSON object', 'invalid_request');
  }
  const model = (body as { model?: unknown }).model;
  if (model === undefined) {
    throw new CodedAppError(400, 'Bad Request', 'The request body names no "model"', 'missing_model');
  }
  if (typeof model !== 'string' || model === '') {
    throw new CodedAppError(400, 'Bad Request', '"model" must be a non-empty string', 'invalid_model');
  }
  return model;
}

function modelNotFound(model: string): CodedAppError {
  return new CodedAppError(
    404,
    'Not Found',
    `The model '${model}' does not exist: no service serves it (GET /v1/models lists the models)`,
    'model_not_found',
  );
}

function modelObject(model: CatalogueModel): Record<string, unknown> {
  return {
    id: model.id,
    object: 'model',
    created: model.created,
    owned_by: 'aiplane',
    status: model.status,
    services: model.services,
    ready_replicas: model.readyReplicas,
    ...(model.queue ? { queue: model.queue } : {}),
  };
}
