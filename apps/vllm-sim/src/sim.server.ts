import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';

import {
  countTokens,
  generate,
  hash32,
  normalizeStop,
  renderChatPrompt,
  tokenize,
  type ChatMessage,
  type Generation,
} from './generation';
import { isMatryoshkaModel } from './embedding.catalogue';
import { embed, float32Base64, tokenIdsAsTokens, truncateEmbedding } from './embedding.encoder';
import { hasChatTemplate, type SimConfig } from './sim.config';
import { SimMetrics, type FinishedReason } from './sim.metrics';

export const MAX_BODY_BYTES = 1024 * 1024;
// Past this a too-large upload is cut off instead of drained, so a runaway client cannot keep a socket busy.
const MAX_DRAIN_BYTES = 16 * MAX_BODY_BYTES;

export const NO_CHAT_TEMPLATE_MESSAGE =
  'As of transformers v4.44, default chat template is no longer allowed, so you must provide a chat template if the tokenizer does not define one.';

/** An error answered with vLLM's error body; `code` is the HTTP status, as in that body. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  static badRequest(message: string): ApiError {
    return new ApiError(400, 'BadRequestError', message);
  }

  body(): VllmErrorBody {
    return { error: { message: this.message, type: this.type, param: null, code: this.code } };
  }
}

/** vLLM's ErrorResponse since 0.10.1 (vllm-project/vllm#22099): OpenAI's nested shape, code = HTTP status. */
export interface VllmErrorBody {
  error: { message: string; type: string; param: null; code: number };
}

export interface SimServerOptions {
  /** Receives one line per event (start, access log); defaults to stdout. */
  log?: (line: string) => void;
  /** Source of randomness for SIM_FAIL_RATE; injectable so tests can pin it. */
  random?: () => number;
}

// Requests are validated loosely: vLLM ignores (and merely logs) fields it does not know.
const textPart = z.looseObject({ type: z.string(), text: z.string().optional() });
const messageSchema = z.looseObject({
  role: z.string(),
  content: z.union([z.string(), z.array(textPart), z.null()]).optional(),
});
const stopSchema = z.union([z.string(), z.array(z.string())]).nullish();
const streamOptionsSchema = z
  .looseObject({ include_usage: z.boolean().nullish(), continuous_usage_stats: z.boolean().nullish() })
  .nullish();
const samplingFields = {
  model: z.string().nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  stop: stopSchema,
  stream: z.boolean().nullish(),
  stream_options: streamOptionsSchema,
  n: z.number().int().nullish(),
};
const chatSchema = z.looseObject({
  ...samplingFields,
  messages: z.array(messageSchema),
  max_tokens: z.number().int().nullish(),
  max_completion_tokens: z.number().int().nullish(),
});
const tokenizeChatSchema = z.looseObject({ model: z.string().nullish(), messages: z.array(messageSchema) });
const tokenizeCompletionSchema = z.looseObject({ model: z.string().nullish(), prompt: z.string() });
const completionSchema = z.looseObject({
  ...samplingFields,
  prompt: z.union([z.string(), z.array(z.string())]),
  max_tokens: z.number().int().nullish(),
  echo: z.boolean().nullish(),
});

// vLLM's EmbeddingCompletionRequest and EmbeddingChatRequest (protocol.py), told apart by `messages`.
const embeddingFields = {
  model: z.string().nullish(),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().nullish(),
  user: z.string().nullish(),
  truncate_prompt_tokens: z.number().int().min(-1).nullish(),
};
const embeddingSchema = z.looseObject({
  ...embeddingFields,
  input: z.union([
    z.string(),
    z.array(z.string()),
    z.array(z.number().int().nonnegative()),
    z.array(z.array(z.number().int().nonnegative())),
  ]),
});
const embeddingChatSchema = z.looseObject({ ...embeddingFields, messages: z.array(messageSchema) });
type EmbeddingRequest =
  | { chat: false; body: z.infer<typeof embeddingSchema> }
  | { chat: true; body: z.infer<typeof embeddingChatSchema> };

type ChatRequest = z.infer<typeof chatSchema>;
type CompletionRequest = z.infer<typeof completionSchema>;
type StreamOptions = z.infer<typeof streamOptionsSchema>;

interface Usage {
  prompt_tokens: number;
  total_tokens: number;
  completion_tokens: number;
}

interface Prepared {
  modelName: string;
  promptTokens: number;
  /** The request's max_tokens (or max_completion_tokens), when it set one. */
  maxTokens: number | undefined;
  generation: Generation;
  stream: boolean;
  includeUsage: boolean;
  continuousUsage: boolean;
}

const usage = (promptTokens: number, completionTokens: number): Usage => ({
  prompt_tokens: promptTokens,
  total_tokens: promptTokens + completionTokens,
  completion_tokens: completionTokens,
});

const requestId = (): string => randomUUID().replace(/-/g, '');

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Bounds concurrent generations like vLLM's --max-num-seqs; the rest wait in FIFO order. */
class Slots {
  running = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly capacity: number) {}

  get waiting(): number {
    return this.queue.length;
  }

  async acquire(signal: AbortSignal): Promise<void> {
    if (this.running < this.capacity) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const grant = (): void => {
        signal.removeEventListener('abort', onAbort);
        this.running++;
        resolve();
      };
      const onAbort = (): void => {
        const index = this.queue.indexOf(grant);
        if (index !== -1) this.queue.splice(index, 1);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.queue.push(grant);
    });
  }

  release(): void {
    this.running--;
    this.queue.shift()?.();
  }
}

export class SimServer {
  readonly server: Server;
  readonly metrics: SimMetrics;
  private readonly log: (line: string) => void;
  private readonly random: () => number;
  private readonly slots: Slots;
  private readonly created = nowSeconds();

  constructor(
    readonly config: SimConfig,
    options: SimServerOptions = {},
  ) {
    this.log = options.log ?? ((line) => process.stdout.write(`${line}\n`));
    this.random = options.random ?? Math.random;
    this.slots = new Slots(config.maxNumSeqs);
    const primary = config.servedModelNames[0] ?? config.model;
    // A pretend cache that holds four full-length sequences: enough to move visibly under load.
    this.metrics = new SimMetrics({
      modelName: primary,
      maxModelLen: config.maxModelLen,
      kvCapacityTokens: config.maxModelLen * 4,
      gpuMemoryUtilization: config.gpuMemoryUtilization,
    });
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        this.fail(res, error);
      });
    });
    this.server.keepAliveTimeout = 5_000;
  }

  get primaryModelName(): string {
    return this.config.servedModelNames[0] ?? this.config.model;
  }

  /**
   * Binds the configured Unix socket, or else host/port (port 0 picks a free one), and logs the start
   * line. Answers what `server.address()` does: the socket path, or the TCP address.
   */
  async listen(): Promise<AddressInfo | string> {
    const { uds, host, port } = this.config;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      const bound = (): void => {
        this.server.off('error', reject);
        resolve();
      };
      if (uds === undefined) this.server.listen(port, host, bound);
      else this.server.listen(uds, bound);
    });
    const address = this.server.address() as AddressInfo | string;
    const where = typeof address === 'string' ? `unix:${address}` : `${host}:${address.port}`;
    this.log(`vllm-sim: serving ${this.primaryModelName} on ${where}`);
    return address;
  }

  /** Stops accepting, cuts idle and in-flight connections (aborting their generations). */
  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    res.on('close', () => {
      const ms = Math.round(performance.now() - started);
      const status = res.writableFinished ? String(res.statusCode) : `${res.statusCode} (aborted)`;
      this.log(`vllm-sim: ${method} ${path} ${status} ${ms}ms`);
    });

    // As vLLM's --api-key middleware: only paths under its guarded prefixes, known or not, before
    // routing; preflights pass. Everything else (/invocations, /tokenize, /metrics, ...) answers
    // without a key, as in real vLLM: the hole the job's auth front closes.
    const key = this.config.apiKey;
    const guarded = API_KEY_PREFIXES.some((prefix) => path.startsWith(prefix));
    if (
      guarded &&
      key !== undefined &&
      method !== 'OPTIONS' &&
      req.headers.authorization !== `Bearer ${key}`
    ) {
      this.json(res, 401, { error: 'Unauthorized' });
      return;
    }

    const route = ROUTES[path];
    if (route === undefined) {
      this.json(res, 404, { detail: 'Not Found' });
      return;
    }
    if (route.method !== method) {
      this.json(res, 405, { detail: 'Method Not Allowed' });
      return;
    }

    if (route.failable && this.config.failRate > 0 && this.random() < this.config.failRate) {
      throw new ApiError(500, 'InternalServerError', 'Simulated failure (SIM_FAIL_RATE).');
    }

    switch (route.name) {
      case 'health':
        // FastAPI's bare Response(status_code=200): no body, no content type.
        this.send(res, 200, '', undefined);
        return;
      case 'version':
        this.json(res, 200, { version: this.config.version });
        return;
      case 'metrics':
        this.send(res, 200, await this.metrics.render(), this.metrics.contentType);
        return;
      case 'models':
        this.json(res, 200, this.modelList());
        return;
      case 'chat':
        await this.chat(await readJson(req), res);
        return;
      case 'embeddings':
        await this.embeddings(await readJson(req), res);
        return;
      case 'completions':
        await this.completions(await readJson(req), res);
        return;
      case 'invocations':
        await this.invocations(await readJson(req), res);
        return;
      case 'tokenize':
        this.json(res, 200, this.tokenize(await readJson(req)));
        return;
    }
  }

  /**
   * SageMaker's endpoint, dispatched on the body as vLLM does: a pooling model embeds, otherwise a body with
   * `messages` is a chat request and anything else a completion.
   */
  private async invocations(raw: unknown, res: ServerResponse): Promise<void> {
    if (this.config.runner === 'pooling') await this.embeddings(raw, res);
    else if (isRecord(raw) && 'messages' in raw) await this.chat(raw, res);
    else await this.completions(raw, res);
  }

  /** vLLM mounts a route's handler only when the model's runner supports the task; the route then says so. */
  private requireRunner(runner: SimConfig['runner'], api: string): void {
    if (this.config.runner !== runner) throw ApiError.badRequest(`The model does not support ${api} API`);
  }

  // ---- /v1/embeddings ----------------------------------------------------------------------------------------

  private async embeddings(raw: unknown, res: ServerResponse): Promise<void> {
    const request: EmbeddingRequest =
      isRecord(raw) && 'messages' in raw
        ? { chat: true, body: parseRequest(embeddingChatSchema, 'EmbeddingChatRequest', raw) }
        : { chat: false, body: parseRequest(embeddingSchema, 'EmbeddingCompletionRequest', raw) };
    const body = request.body;
    this.requireRunner('pooling', 'Embeddings');
    const modelName = this.resolveModel(body.model);
    const inputs = this.embeddingInputs(request);
    const maxLen = this.config.maxModelLen;
    const truncate = body.truncate_prompt_tokens ?? undefined;
    if (truncate !== undefined && truncate > maxLen) {
      throw ApiError.badRequest(
        `truncate_prompt_tokens value (${truncate}) is greater than max_model_len (${maxLen}). Please, select a smaller truncation size.`,
      );
    }
    const keep = truncate === -1 ? maxLen : truncate;
    // Truncation keeps the end of the input, as vLLM's tokenizer is told to (truncation_side="left").
    const prompts = inputs.map((tokens) => (keep === undefined || keep === 0 ? tokens : tokens.slice(-keep)));
    for (const tokens of prompts) {
      if (tokens.length > maxLen) {
        throw ApiError.badRequest(
          `This model's maximum context length is ${maxLen} tokens. However, you requested ${tokens.length} tokens in the input for embedding generation. Please reduce the length of the input.`,
        );
      }
    }
    const dimensions = body.dimensions ?? undefined;
    if (dimensions !== undefined) {
      if (!isMatryoshkaModel(this.config.model)) {
        throw ApiError.badRequest(
          `Model "${this.primaryModelName}" does not support matryoshka representation, changing output dimensions will lead to poor results.`,
        );
      }
      if (dimensions < 1) throw ApiError.badRequest('Dimensions must be greater than 0');
    }

    const id = `embd-${requestId()}`;
    const created = nowSeconds();
    if (
      !(await this.pool(
        res,
        prompts.map((tokens) => tokens.length),
      ))
    )
      return;
    const base64 = body.encoding_format === 'base64';
    const promptTokens = prompts.reduce((sum, tokens) => sum + tokens.length, 0);
    this.json(res, 200, {
      id,
      object: 'list',
      created,
      model: modelName,
      data: prompts.map((tokens, index) => {
        const full = embed(this.config.model, tokens, this.config.embeddingDimension);
        const vector = dimensions === undefined ? full : truncateEmbedding(full, dimensions);
        return { index, object: 'embedding', embedding: base64 ? float32Base64(vector) : Array.from(vector) };
      }),
      usage: {
        prompt_tokens: promptTokens,
        total_tokens: promptTokens,
        completion_tokens: 0,
        prompt_tokens_details: null,
      },
    });
  }

  /** Each input as the tokens it is embedded from: words of a text, or the ids the client sent. */
  private embeddingInputs(request: EmbeddingRequest): string[][] {
    if (request.chat) {
      if (!hasChatTemplate(this.config)) throw ApiError.badRequest(NO_CHAT_TEMPLATE_MESSAGE);
      return [tokenize(renderChatPrompt(request.body.messages.map(toChatMessage)))];
    }
    const input = request.body.input;
    if (typeof input === 'string') return [tokenize(input)];
    if (input.length === 0) throw ApiError.badRequest('Input cannot be empty.');
    if (input.every((item) => typeof item === 'number')) return [tokenIdsAsTokens(input)];
    return input.map((item) =>
      typeof item === 'string' ? tokenize(item) : tokenIdsAsTokens(item as readonly number[]),
    );
  }

  /** vLLM's /tokenize: the prompt, or the chat rendered with its template, as token ids. */
  private tokenize(raw: unknown): unknown {
    let text: string;
    if (isRecord(raw) && 'messages' in raw) {
      const body = parseRequest(tokenizeChatSchema, 'TokenizeChatRequest', raw);
      this.resolveModel(body.model);
      if (!hasChatTemplate(this.config)) throw ApiError.badRequest(NO_CHAT_TEMPLATE_MESSAGE);
      text = renderChatPrompt(body.messages.map(toChatMessage));
    } else {
      const body = parseRequest(tokenizeCompletionSchema, 'TokenizeCompletionRequest', raw);
      this.resolveModel(body.model);
      text = body.prompt;
    }
    const tokens = tokenize(text).map((token) => hash32(token) % VOCABULARY_SIZE);
    return { count: tokens.length, max_model_len: this.config.maxModelLen, tokens, token_strs: null };
  }

  private modelList(): unknown {
    return {
      object: 'list',
      data: this.config.servedModelNames.map((id) => ({
        id,
        object: 'model',
        created: this.created,
        owned_by: 'vllm',
        root: this.config.model,
        parent: null,
        max_model_len: this.config.maxModelLen,
        permission: [
          {
            id: `modelperm-${requestId()}`,
            object: 'model_permission',
            created: this.created,
            allow_create_engine: false,
            allow_sampling: true,
            allow_logprobs: true,
            allow_search_indices: false,
            allow_view: true,
            allow_fine_tuning: false,
            organization: '*',
            group: null,
            is_blocking: false,
          },
        ],
      })),
    };
  }

  // ---- /v1/chat/completions ------------------------------------------------------------------------------------

  private async chat(raw: unknown, res: ServerResponse): Promise<void> {
    const body = parseRequest(chatSchema, 'ChatCompletionRequest', raw);
    this.requireRunner('generate', 'Chat Completions');
    const modelName = this.resolveModel(body.model);
    if (!hasChatTemplate(this.config)) throw ApiError.badRequest(NO_CHAT_TEMPLATE_MESSAGE);
    const messages = body.messages.map(toChatMessage);
    const prompt = renderChatPrompt(messages);
    const prepared = this.prepare(
      body,
      modelName,
      prompt,
      body.max_completion_tokens ?? body.max_tokens ?? undefined,
    );

    const id = `chatcmpl-${requestId()}`;
    const created = nowSeconds();
    const { generation, promptTokens } = prepared;
    if (!prepared.stream) {
      if (!(await this.run(res, prepared))) return;
      this.json(res, 200, {
        id,
        object: 'chat.completion',
        created,
        model: modelName,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', reasoning_content: null, content: generation.text, tool_calls: [] },
            logprobs: null,
            finish_reason: generation.finishReason,
            stop_reason: generation.stopReason,
          },
        ],
        usage: { ...usage(promptTokens, generation.completionTokens), prompt_tokens_details: null },
        prompt_logprobs: null,
      });
      return;
    }

    const chunk = (
      choice: Record<string, unknown> | null,
      completionTokens: number,
    ): Record<string, unknown> => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: modelName,
      choices: choice === null ? [] : [choice],
      ...(prepared.continuousUsage ? { usage: usage(promptTokens, completionTokens) } : {}),
    });
    const sse = this.startStream(res);
    await this.run(res, prepared, (index) => {
      if (index === 0) {
        sse(
          chunk(
            { index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null },
            0,
          ),
        );
      }
      const piece = generation.pieces[index] ?? '';
      const last = index === generation.completionTokens - 1;
      if (last) {
        sse(
          chunk(
            {
              index: 0,
              delta: { content: piece },
              logprobs: null,
              finish_reason: generation.finishReason,
              stop_reason: generation.stopReason,
            },
            index + 1,
          ),
        );
      } else if (piece !== '') {
        sse(chunk({ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }, index + 1));
      }
    });
    this.endStream(res, prepared, () => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: modelName,
      choices: [],
      usage: usage(promptTokens, generation.completionTokens),
    }));
  }

  // ---- /v1/completions ---------------------------------------------------------------------------------------

  private async completions(raw: unknown, res: ServerResponse): Promise<void> {
    const body = parseRequest(completionSchema, 'CompletionRequest', raw);
    this.requireRunner('generate', 'Completions');
    const modelName = this.resolveModel(body.model);
    const prompts = typeof body.prompt === 'string' ? [body.prompt] : body.prompt;
    if (prompts.length !== 1 || prompts[0] === undefined) {
      throw ApiError.badRequest(
        'vllm-sim serves exactly one prompt per request (a string or an array of one string).',
      );
    }
    const prompt = prompts[0];
    // vLLM's CompletionRequest defaults max_tokens to 16; only an explicit null means "up to the context".
    const maxTokens = isRecord(raw) && 'max_tokens' in raw ? (body.max_tokens ?? undefined) : 16;
    const prepared = this.prepare(body, modelName, prompt, maxTokens);
    const echo = body.echo === true ? prompt : '';

    const id = `cmpl-${requestId()}`;
    const created = nowSeconds();
    const { generation, promptTokens } = prepared;
    if (!prepared.stream) {
      if (!(await this.run(res, prepared))) return;
      this.json(res, 200, {
        id,
        object: 'text_completion',
        created,
        model: modelName,
        choices: [
          {
            index: 0,
            text: echo + generation.text,
            logprobs: null,
            finish_reason: generation.finishReason,
            stop_reason: generation.stopReason,
            prompt_logprobs: null,
          },
        ],
        usage: { ...usage(promptTokens, generation.completionTokens), prompt_tokens_details: null },
      });
      return;
    }

    const sse = this.startStream(res);
    await this.run(res, prepared, (index) => {
      const piece = (index === 0 ? echo : '') + (generation.pieces[index] ?? '');
      const last = index === generation.completionTokens - 1;
      if (!last && piece === '') return;
      sse({
        id,
        object: 'text_completion',
        created,
        model: modelName,
        choices: [
          {
            index: 0,
            text: piece,
            logprobs: null,
            finish_reason: last ? generation.finishReason : null,
            stop_reason: last ? generation.stopReason : null,
          },
        ],
        usage: prepared.continuousUsage ? usage(promptTokens, index + 1) : null,
      });
    });
    this.endStream(res, prepared, () => ({
      id,
      object: 'text_completion',
      created,
      model: modelName,
      choices: [],
      usage: usage(promptTokens, generation.completionTokens),
    }));
  }

  // ---- shared request handling ---------------------------------------------------------------------------------

  private resolveModel(requested: string | null | undefined): string {
    if (requested === undefined || requested === null || requested === '') return this.primaryModelName;
    if (!this.config.servedModelNames.includes(requested)) {
      throw new ApiError(404, 'NotFoundError', `The model \`${requested}\` does not exist.`);
    }
    return requested;
  }

  /** The checks vLLM makes before scheduling, in its order: context length, then sampling parameters. */
  private prepare(
    body: ChatRequest | CompletionRequest,
    modelName: string,
    prompt: string,
    maxTokens: number | undefined,
  ): Prepared {
    const maxLen = this.config.maxModelLen;
    const promptTokens = countTokens(prompt);
    if (maxTokens === undefined && promptTokens >= maxLen) {
      throw ApiError.badRequest(
        `This model's maximum context length is ${maxLen} tokens. However, you requested ${promptTokens} tokens in the messages, Please reduce the length of the messages.`,
      );
    }
    if (maxTokens !== undefined && promptTokens + maxTokens > maxLen) {
      throw ApiError.badRequest(
        `This model's maximum context length is ${maxLen} tokens. However, you requested ${promptTokens + maxTokens} tokens (${promptTokens} in the messages, ${maxTokens} in the completion). Please reduce the length of the messages or completion.`,
      );
    }
    const n = body.n ?? 1;
    if (n !== 1) throw ApiError.badRequest(`vllm-sim supports only n=1, got ${n}.`);
    const temperature = body.temperature ?? undefined;
    if (temperature !== undefined && temperature < 0) {
      throw ApiError.badRequest(`temperature must be non-negative, got ${temperature}.`);
    }
    const topP = body.top_p;
    if (topP !== undefined && topP !== null && !(topP > 0 && topP <= 1)) {
      throw ApiError.badRequest(`top_p must be in (0, 1], got ${topP}.`);
    }
    if (maxTokens !== undefined && maxTokens < 1) {
      throw ApiError.badRequest(`max_tokens must be at least 1, got ${maxTokens}.`);
    }
    const stream = body.stream === true;
    const options: StreamOptions = body.stream_options;
    if (options !== undefined && options !== null && !stream) {
      throw ApiError.badRequest('Stream options can only be defined when `stream=True`.');
    }
    // vLLM's StreamOptions defaults include_usage to true once stream_options is present at all.
    const includeUsage = options !== undefined && options !== null && options.include_usage !== false;
    const generation = generate({
      model: this.config.model,
      prompt,
      maxTokens,
      temperature,
      stop: normalizeStop(body.stop),
      limit: maxLen - promptTokens,
    });
    return {
      modelName,
      promptTokens,
      maxTokens,
      generation,
      stream,
      includeUsage,
      continuousUsage: includeUsage && options.continuous_usage_stats === true,
    };
  }

  /**
   * Paces a generation like the engine would: wait for a slot, then TTFT before the first token and the per-token
   * latency before each next one, calling `emit` as each token is produced. Returns false if the client went away.
   */
  private async run(
    res: ServerResponse,
    prepared: Prepared,
    emit?: (index: number) => void,
  ): Promise<boolean> {
    const { ttftMs, tokenLatencyMs } = this.config;
    const { generation, promptTokens } = prepared;
    const { signal, release } = abortedOnClose(res);
    const arrived = performance.now();
    let scheduled = arrived;
    let firstOut = arrived;
    let cached = 0;
    let reason: FinishedReason = 'abort';
    let slotted = false;
    try {
      const slot = this.slots.acquire(signal);
      this.publishQueue();
      await slot;
      slotted = true;
      scheduled = performance.now();
      this.publishQueue();
      // Each token is due at a fixed time from the first, so 256 tokens at 10 ms take 2.55 s, not that plus
      // 256 timer overshoots.
      const firstDue = scheduled + ttftMs;
      await until(firstDue, signal);
      firstOut = performance.now();
      this.metrics.firstToken(promptTokens, (firstOut - arrived) / 1000);
      cached = promptTokens + 1;
      emit?.(0);
      for (let i = 1; i < generation.completionTokens; i++) {
        await until(firstDue + i * tokenLatencyMs, signal);
        // The configured pace rather than the measured gap, so tests can place the observation in a bucket.
        this.metrics.tokenGenerated(tokenLatencyMs / 1000);
        cached++;
        emit?.(i);
      }
      reason = generation.finishReason;
      return true;
    } catch (error) {
      if (signal.aborted) return false;
      throw error;
    } finally {
      release();
      if (slotted) this.slots.release();
      this.publishQueue();
      if (slotted) {
        const end = performance.now();
        this.metrics.finished(
          reason,
          {
            e2e: (end - arrived) / 1000,
            queued: (scheduled - arrived) / 1000,
            prefill: (firstOut - scheduled) / 1000,
            decode: (end - firstOut) / 1000,
          },
          {
            prompt: promptTokens,
            generation: generation.completionTokens,
            maxTokensParam: prepared.maxTokens,
          },
          cached,
        );
      }
    }
  }

  /**
   * Runs an embedding request like the engine runs pooling: a slot, then one prefill step (SIM_TTFT_MS) that
   * yields the vectors. Each input is a request of its own to the engine, and counted so. Returns false if the
   * client went away first: then, as in vLLM, nothing but the running gauge shows it was ever there.
   */
  private async pool(res: ServerResponse, promptTokens: readonly number[]): Promise<boolean> {
    const { signal, release } = abortedOnClose(res);
    const arrived = performance.now();
    let slotted = false;
    try {
      const slot = this.slots.acquire(signal);
      this.publishQueue();
      await slot;
      slotted = true;
      const scheduled = performance.now();
      this.publishQueue();
      await until(scheduled + this.config.ttftMs, signal);
      const end = performance.now();
      for (const tokens of promptTokens) {
        this.metrics.pooled(tokens, (end - arrived) / 1000);
        this.metrics.finished(
          'stop',
          {
            e2e: (end - arrived) / 1000,
            queued: (scheduled - arrived) / 1000,
            prefill: (end - scheduled) / 1000,
            decode: 0,
          },
          { prompt: tokens, generation: 0, maxTokensParam: undefined },
          tokens,
        );
      }
      return true;
    } catch (error) {
      if (signal.aborted) return false;
      throw error;
    } finally {
      release();
      if (slotted) this.slots.release();
      this.publishQueue();
    }
  }

  private publishQueue(): void {
    this.metrics.setQueue(this.slots.running, this.slots.waiting);
  }

  private startStream(res: ServerResponse): (payload: unknown) => void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      server: 'uvicorn',
    });
    // Every frame leaves in its own segment the moment its token exists; Nagle would hold small ones back.
    res.socket?.setNoDelay(true);
    res.flushHeaders();
    return (payload) => {
      if (!res.writableEnded && !res.destroyed) res.write(`data: ${JSON.stringify(payload)}\n\n`);
    };
  }

  private endStream(res: ServerResponse, prepared: Prepared, usageChunk: () => unknown): void {
    if (res.writableEnded || res.destroyed) return;
    if (prepared.includeUsage) res.write(`data: ${JSON.stringify(usageChunk())}\n\n`);
    res.end('data: [DONE]\n\n');
  }

  // ---- responses ---------------------------------------------------------------------------------------------

  private fail(res: ServerResponse, error: unknown): void {
    const apiError =
      error instanceof ApiError
        ? error
        : new ApiError(500, 'InternalServerError', error instanceof Error ? error.message : String(error));
    if (res.headersSent) {
      // Mid-stream there is no status left to change; vLLM reports such errors as a final data frame.
      if (!res.writableEnded && !res.destroyed)
        res.end(`data: ${JSON.stringify(apiError.body())}\n\ndata: [DONE]\n\n`);
      return;
    }
    const headers: Record<string, string> = apiError.code === 413 ? { connection: 'close' } : {};
    this.json(res, apiError.code, apiError.body(), headers);
  }

  private json(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    this.send(res, status, JSON.stringify(body), 'application/json', headers);
  }

  private send(
    res: ServerResponse,
    status: number,
    body: string,
    contentType: string | undefined,
    headers: Record<string, string> = {},
  ): void {
    if (res.writableEnded || res.destroyed) return;
    res.writeHead(status, {
      ...(contentType === undefined ? {} : { 'content-type': contentType }),
      'content-length': Buffer.byteLength(body),
      server: 'uvicorn',
      ...headers,
    });
    res.end(body);
  }
}

type RouteName =
  | 'health'
  | 'version'
  | 'metrics'
  | 'models'
  | 'chat'
  | 'completions'
  | 'embeddings'
  | 'invocations'
  | 'tokenize';

/** Path prefixes vLLM's --api-key middleware guards (/v1 in 0.8; /v2, /inference, /cohere came later). */
export const API_KEY_PREFIXES: readonly string[] = ['/v1', '/v2', '/inference', '/cohere'];

/** `failable`: the routes SIM_FAIL_RATE may answer with a 500, those that reach the engine. */
const ROUTES: Record<string, { method: string; name: RouteName; failable?: boolean } | undefined> = {
  '/health': { method: 'GET', name: 'health' },
  '/version': { method: 'GET', name: 'version' },
  '/metrics': { method: 'GET', name: 'metrics' },
  '/v1/models': { method: 'GET', name: 'models', failable: true },
  '/v1/chat/completions': { method: 'POST', name: 'chat', failable: true },
  '/v1/completions': { method: 'POST', name: 'completions', failable: true },
  '/v1/embeddings': { method: 'POST', name: 'embeddings', failable: true },
  '/invocations': { method: 'POST', name: 'invocations', failable: true },
  '/tokenize': { method: 'POST', name: 'tokenize' },
};

// The id range of the default Qwen2.5 tokenizer, so /tokenize ids look plausible.
const VOCABULARY_SIZE = 151_936;

/**
 * Waits until `due` (a performance.now() time), and always yields at least one turn of the event loop, so a
 * generation running behind its schedule still hands each frame to the socket on its own.
 */
async function until(due: number, signal: AbortSignal): Promise<void> {
  const wait = due - performance.now();
  if (wait >= 1) await sleep(wait, undefined, { signal });
  else await nextTurn(undefined, { signal });
  signal.throwIfAborted();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toChatMessage(message: z.infer<typeof messageSchema>): ChatMessage {
  const content = message.content;
  if (typeof content === 'string') return { role: message.role, content };
  if (content === null || content === undefined) return { role: message.role, content: '' };
  const texts = content.map((part) => {
    if (part.type !== 'text' || part.text === undefined) {
      throw ApiError.badRequest(
        `vllm-sim serves a text-only model; content part type '${part.type}' is not supported.`,
      );
    }
    return part.text;
  });
  return { role: message.role, content: texts.join('\n') };
}

function parseRequest<T>(schema: z.ZodType<T>, name: string, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(
    (issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`,
  );
  throw ApiError.badRequest(
    `${problems.length} validation error${problems.length === 1 ? '' : 's'} for ${name}\n${problems.join('\n')}`,
  );
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const raw = await readBody(req);
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch (error) {
    throw ApiError.badRequest(`JSON decode error: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * Collects the body up to MAX_BODY_BYTES. A larger one is drained (so the client gets to read the 413) unless it
 * goes on past MAX_DRAIN_BYTES, when the connection is cut.
 */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooLarge = new ApiError(
      413,
      'RequestEntityTooLarge',
      `Request body exceeds ${MAX_BODY_BYTES} bytes.`,
    );
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > MAX_DRAIN_BYTES) {
      reject(tooLarge);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_DRAIN_BYTES) {
        req.destroy();
        return;
      }
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) reject(tooLarge);
      else resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(tooLarge);
    });
  });
}

export interface StartSimOptions extends SimServerOptions {
  /** Aborting it during the startup delay stops the start: the port is never bound. */
  signal?: AbortSignal;
}

/** Waits SIM_STARTUP_DELAY_MS (like a model load, before the port exists), then listens. */
export async function startSim(config: SimConfig, options: StartSimOptions = {}): Promise<SimServer> {
  if (config.startupDelayMs > 0) {
    await sleep(config.startupDelayMs, undefined, options.signal ? { signal: options.signal } : {});
  }
  options.signal?.throwIfAborted();
  const sim = new SimServer(config, options);
  await sim.listen();
  return sim;
}

/** A signal that fires when the client goes away before its answer is complete; release() stops watching. */
function abortedOnClose(res: ServerResponse): { signal: AbortSignal; release: () => void } {
  const aborter = new AbortController();
  const onClose = (): void => {
    if (!res.writableFinished) aborter.abort();
  };
  res.on('close', onClose);
  return {
    signal: aborter.signal,
    release: () => {
      res.off('close', onClose);
    },
  };
}
