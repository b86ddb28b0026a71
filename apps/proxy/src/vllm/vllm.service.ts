import { Inject, Injectable } from '@nestjs/common';
import type { PromptRequest, PromptResponse, PromptUsage, VllmModelsResponse } from '@aiplane/contracts';
import { AppError, UpstreamError } from '@aiplane/server-kit';
import { UPSTREAM } from '../platform/platform.module';
import { WorkloadResolver, type ResolvedWorkload } from '../routing/workload.resolver';
import { WorkloadCaller } from '../routing/workload.caller';
import { ServedModelsCache } from '../routing/served-models.cache';
import {
  UpstreamClient,
  type CallContext,
  type StreamedResponse,
  type UpstreamResponse,
} from '../upstream/upstream.client';

const DEFAULT_MAX_TOKENS = 150;
const DEFAULT_TEMPERATURE = 0.7;
// vLLM refuses chat for tokenizers without a chat template (base models such as gpt2).
const NO_CHAT_TEMPLATE = /chat template/i;

interface OpenAiCompletion {
  model?: string;
  choices?: { text?: string; message?: { content?: string | null } }[];
  usage?: Partial<PromptUsage>;
}

interface GroupRouting {
  routed_to: string;
  group_id: string;
  total_replicas: number;
}

export class AllReplicasFailedError extends AppError {
  constructor(message: string, attempted: string[]) {
    super(503, 'All replicas failed', message, { attempted_replicas: attempted });
  }
}

@Injectable()
export class VllmService {
  private readonly noChatTemplate = new Set<string>();

  constructor(
    private readonly resolver: WorkloadResolver,
    private readonly caller: WorkloadCaller,
    private readonly servedModels: ServedModelsCache,
    @Inject(UPSTREAM) private readonly upstream: UpstreamClient,
  ) {}

  /**
   * The prompt with `stream: true`: the workload's own SSE answer (chat, or completions for a model
   * without a chat template), once its headers arrived. Failover as for `prompt`; a refusal before
   * streaming began is answered in the envelope, as without streaming.
   */
  async promptStream(id: string, request: PromptRequest, context?: CallContext): Promise<StreamedResponse> {
    return this.caller.call(
      await this.resolver.candidates(id, 'vllm'),
      async (workload) => {
        const { answer } = await this.chatOrCompletions(
          workload,
          request,
          (path, body) => this.postStream(workload, path, body, context),
          (sent) => 'refusal' in sent && lacksChatTemplate(sent.refusal),
          context,
        );
        if (!('refusal' in answer)) return answer;
        parseUpstream(answer.refusal);
        throw new UpstreamError(`The model server answered HTTP ${answer.refusal.status}`);
      },
      (attempted, reason) =>
        new AllReplicasFailedError(`No replica of service ${id} could be reached: ${reason}`, attempted),
    );
  }

  /**
   * Chat first; completions when the workload says the model has no chat template, which is then
   * remembered for that replica and model. `send` makes the call, buffered or streamed.
   */
  private async chatOrCompletions<T>(
    workload: ResolvedWorkload,
    request: PromptRequest,
    send: (path: string, body: Record<string, unknown>) => Promise<T>,
    noChatTemplate: (answer: T) => boolean,
    context: CallContext | undefined,
  ): Promise<{ endpointUsed: 'chat' | 'completions'; model: string; answer: T }> {
    // Most prompts name no model, and the served one is remembered: no wait for it then.
    const model =
      request.model ??
      this.servedModels.cached(workload.replicaId)?.[0] ??
      (await this.servedModel(workload, context));
    const key = `${workload.replicaId}|${model}`;
    if (!this.noChatTemplate.has(key)) {
      const body = workloadBody(request, model);
      body.messages = [{ role: 'user', content: request.prompt }];
      const chat = await send('/v1/chat/completions', body);
      if (!noChatTemplate(chat)) return { endpointUsed: 'chat', model, answer: chat };
      this.noChatTemplate.add(key);
    }
    const body = workloadBody(request, model);
    body.prompt = request.prompt;
    const completion = await send('/v1/completions', body);
    return { endpointUsed: 'completions', model, answer: completion };
  }

  /** A 2xx answer to stream on, or a refusal read whole so it can be put in the envelope. */
  private async postStream(
    workload: ResolvedWorkload,
    path: string,
    body: unknown,
    context: CallContext | undefined,
  ): Promise<StreamedResponse | { refusal: UpstreamResponse }> {
    const streamed = await this.upstream.stream(workload, {
      method: 'POST',
      path,
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: Buffer.from(JSON.stringify(body)),
      ...(context ? { context } : {}),
    });
    const { status } = streamed;
    if (status >= 200 && status < 300) return streamed;
    return { refusal: { status, headers: streamed.headers, body: await streamed.body.read() } };
  }

  /**
   * Sends the prompt to the next replica in rotation. A replica that cannot be reached (nothing was
   * sent, so nothing can be generated twice) is marked down and the next one is tried, so a client
   * sees no error while any replica is healthy.
   */
  async prompt(
    id: string,
    request: PromptRequest,
    context?: CallContext,
  ): Promise<PromptResponse & Partial<GroupRouting>> {
    return this.caller.call(
      await this.resolver.candidates(id, 'vllm'),
      async (workload) => {
        const answer = await this.promptOnce(id, workload, request, context);
        return workload.group
          ? {
              ...answer,
              routed_to: workload.replicaId,
              group_id: workload.group.id,
              total_replicas: workload.group.totalReplicas,
            }
          : answer;
      },
      (attempted, reason) =>
        new AllReplicasFailedError(`No replica of service ${id} could be reached: ${reason}`, attempted),
    );
  }

  private async promptOnce(
    id: string,
    workload: ResolvedWorkload,
    request: PromptRequest,
    context: CallContext | undefined,
  ): Promise<PromptResponse> {
    const { endpointUsed, model, answer } = await this.chatOrCompletions(
      workload,
      request,
      (path, body) => this.upstream.request(workload, 'POST', path, body, {}, context),
      lacksChatTemplate,
      context,
    );
    return this.answer(id, endpointUsed, model, answer);
  }

  async models(id: string): Promise<VllmModelsResponse> {
    const workload = await this.resolver.resolve(id, 'vllm');
    return this.caller.call(
      [workload],
      async () => {
        const response = await this.upstream.request(workload, 'GET', '/v1/models');
        const data = (parseUpstream(response) as { data?: unknown }).data;
        const objects = Array.isArray(data) ? (data as unknown[]) : [];
        return {
          success: true,
          // The document's clients index `models` as strings; the workload's objects stay under `data`.
          models: objects.flatMap((model) => {
            const modelId = (model as { id?: unknown } | null)?.id;
            return typeof modelId === 'string' ? [modelId] : [];
          }),
          data: objects,
          service_id: id,
          endpoint: workload.endpoint,
        };
      },
      (attempted, reason) =>
        new AllReplicasFailedError(
          `No replica of service ${workload.service.id} could be reached: ${reason}`,
          attempted,
        ),
    );
  }

  private async servedModel(workload: ResolvedWorkload, context: CallContext | undefined): Promise<string> {
    const [model] = await this.servedModels.get(workload.replicaId, async () => {
      const response = await this.upstream.request(workload, 'GET', '/v1/models', undefined, {}, context);
      const data = (parseUpstream(response) as { data?: unknown }).data;
      return Array.isArray(data)
        ? data.flatMap((entry) => {
            const modelId = (entry as { id?: unknown } | null)?.id;
            return typeof modelId === 'string' ? [modelId] : [];
          })
        : [];
    });
    if (!model) throw new UpstreamError('The workload serves no model (/v1/models is empty)');
    return model;
  }

  private answer(
    id: string,
    endpointUsed: 'chat' | 'completions',
    model: string,
    response: UpstreamResponse,
  ): PromptResponse {
    const body = parseUpstream(response) as OpenAiCompletion;
    const choice = body.choices?.[0];
    const text = (endpointUsed === 'chat' ? choice?.message?.content : choice?.text) ?? '';
    const promptTokens = body.usage?.prompt_tokens ?? 0;
    const completionTokens = body.usage?.completion_tokens ?? 0;
    return {
      success: true,
      text,
      response: text,
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: body.usage?.total_tokens ?? promptTokens + completionTokens,
      },
      service_id: id,
      endpoint_used: endpointUsed,
      model: body.model ?? model,
    };
  }
}

/** vLLM's refusal of chat for a tokenizer without a chat template (base models such as gpt2). */
function lacksChatTemplate(response: UpstreamResponse): boolean {
  return response.status === 400 && NO_CHAT_TEMPLATE.test(response.body.toString('utf8'));
}

/**
 * The workload's body: the prompt's sampling fields as given, with this route's defaults, and the
 * model. Copied key by key: an object rest (`{prompt, ...rest}`) costs a runtime call per request.
 */
function workloadBody(request: PromptRequest, model: string): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const name in request) {
    if (name !== 'prompt' && name !== 'model') body[name] = request[name as keyof PromptRequest];
  }
  body.max_tokens = request.max_tokens ?? DEFAULT_MAX_TOKENS;
  body.temperature = request.temperature ?? DEFAULT_TEMPERATURE;
  body.model = model;
  return body;
}

/**
 * Upstream 4xx are the client's to fix (400); 5xx are the workload's failure (502), and so is a
 * refused API key, which is the service's configuration rather than anything in the request.
 */
function parseUpstream(response: UpstreamResponse): unknown {
  const text = response.body.toString('utf8');
  if (response.status >= 400) {
    const message = upstreamMessage(text) ?? `HTTP ${response.status}`;
    if (response.status === 401 || response.status === 403)
      throw new UpstreamError(`The model server refused access (HTTP ${response.status}): ${message}`);
    if (response.status < 500)
      throw new AppError(400, 'Bad Request', `The model server rejected the request: ${message}`);
    throw new UpstreamError(`The model server failed: ${message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UpstreamError('The model server answered with something that is not JSON');
  }
}

function upstreamMessage(text: string): string | undefined {
  try {
    const parsed = JSON.parse(text) as { message?: unknown; error?: { message?: unknown } | string };
    if (typeof parsed.message === 'string') return parsed.message;
    if (typeof parsed.error === 'string') return parsed.error;
    if (typeof parsed.error?.message === 'string') return parsed.error.message;
  } catch {
    return text.slice(0, 500) || undefined;
  }
  return undefined;
}
