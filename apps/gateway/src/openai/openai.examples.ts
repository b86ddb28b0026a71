import type { ExamplesObject } from '@nestjs/swagger';
import type { ContentObject, SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

/*
 * Swagger's picture of the OpenAI-compatible routes and the Qdrant pass-through: the workload's own
 * shapes (vLLM's, Qdrant's), which the gateway passes through unchanged, and the errors the control
 * plane adds in OpenAI's shape.
 */

const MODEL = 'Qwen/Qwen2.5-7B-Instruct';

export const OPENAI_ERROR_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['message', 'type', 'code'],
      properties: {
        message: { type: 'string', example: 'The model `gpt-5` does not exist' },
        type: { type: 'string', example: 'invalid_request_error' },
        code: { type: 'string', nullable: true, example: 'model_not_found' },
      },
    },
  },
};

/** What each status means on a `/v1` route, and an example of its body. */
export const OPENAI_ERRORS: ReadonlyArray<[number, string, string, string]> = [
  [
    400,
    'The body is not JSON or has no `model`; or the service id is malformed',
    'invalid_request_error',
    'missing_model',
  ],
  [
    404,
    'No running or queued service serves that model (`model_not_found`)',
    'invalid_request_error',
    'model_not_found',
  ],
  [413, 'The body is over 1 MiB', 'invalid_request_error', 'request_too_large'],
  [415, 'Content-Type is not application/json', 'invalid_request_error', 'unsupported_media_type'],
  [
    503,
    'The model is known but not ready (see `Retry-After`), or the proxy is unreachable (SSH tunnel down)',
    'server_error',
    'model_not_ready',
  ],
  [504, 'The proxy did not start answering within UPSTREAM_TIMEOUT_MS', 'server_error', 'upstream_timeout'],
];

export const MODEL_LIST_EXAMPLE = {
  object: 'list',
  data: [
    {
      id: MODEL,
      object: 'model',
      created: 1764720000,
      owned_by: 'aiplane',
      status: 'running',
      services: ['3652098', 'sg-3652110'],
      ready_replicas: 3,
    },
    {
      id: 'BAAI/bge-small-en-v1.5',
      object: 'model',
      created: 1764720600,
      owned_by: 'aiplane',
      status: 'pending',
      services: ['3652120'],
      ready_replicas: 0,
      queue: { position: 2, reason: 'Resources', estimated_start: '2026-12-03T14:05:00Z' },
    },
  ],
};

export const CHAT_EXAMPLES: ExamplesObject = {
  simple: {
    summary: 'A chat turn',
    value: {
      model: MODEL,
      messages: [{ role: 'user', content: 'Tell me a joke about programming' }],
      max_tokens: 100,
    },
  },
  streamed: {
    summary: 'Streamed (server-sent events, one chunk per token)',
    value: { model: MODEL, messages: [{ role: 'user', content: 'Write a haiku about GPUs' }], stream: true },
  },
};

export const COMPLETION_EXAMPLES: ExamplesObject = {
  simple: {
    summary: 'A completion',
    value: { model: MODEL, prompt: 'The capital of Luxembourg is', max_tokens: 16 },
  },
  streamed: {
    summary: 'Streamed',
    value: { model: MODEL, prompt: 'Once upon a time', max_tokens: 64, stream: true },
  },
};

export const EMBEDDING_EXAMPLES: ExamplesObject = {
  one: {
    summary: 'One text',
    value: { model: 'BAAI/bge-small-en-v1.5', input: 'aiplane runs vLLM on SLURM' },
  },
  several: {
    summary: 'Several texts',
    value: { model: 'BAAI/bge-small-en-v1.5', input: ['first document', 'second document'] },
  },
};

const JOKE = 'Why do programmers prefer dark mode? Because light attracts bugs.';
const USAGE = { prompt_tokens: 14, completion_tokens: 16, total_tokens: 30 };

export const CHAT_RESPONSE: ContentObject = {
  'application/json': {
    schema: { type: 'object', description: "The workload's (vLLM's) chat.completion object, unchanged" },
    example: {
      id: 'chatcmpl-7f3c',
      object: 'chat.completion',
      created: 1764720000,
      model: MODEL,
      choices: [{ index: 0, message: { role: 'assistant', content: JOKE }, finish_reason: 'stop' }],
      usage: USAGE,
    },
  },
  'text/event-stream': {
    schema: {
      type: 'string',
      description: 'With `stream: true`: chat.completion.chunk events, then `data: [DONE]`',
    },
    example:
      'data: {"id":"chatcmpl-7f3c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Why"}}]}\n\n' +
      'data: [DONE]\n\n',
  },
};

export const COMPLETION_RESPONSE: ContentObject = {
  'application/json': {
    schema: { type: 'object', description: "The workload's text_completion object, unchanged" },
    example: {
      id: 'cmpl-91aa',
      object: 'text_completion',
      created: 1764720000,
      model: MODEL,
      choices: [{ index: 0, text: ' Luxembourg City.', finish_reason: 'stop' }],
      usage: { prompt_tokens: 6, completion_tokens: 4, total_tokens: 10 },
    },
  },
  'text/event-stream': {
    schema: {
      type: 'string',
      description: 'With `stream: true`: text_completion chunks, then `data: [DONE]`',
    },
    example:
      'data: {"id":"cmpl-91aa","object":"text_completion","choices":[{"index":0,"text":" Lux"}]}\n\ndata: [DONE]\n\n',
  },
};

export const EMBEDDING_RESPONSE = {
  object: 'list',
  data: [{ object: 'embedding', index: 0, embedding: [0.0123, -0.0456, 0.0789] }],
  model: 'BAAI/bge-small-en-v1.5',
  usage: { prompt_tokens: 6, total_tokens: 6 },
};

/** A chat or completions body: any of OpenAI's fields; `model` is the one the control plane reads. */
export const OPENAI_BODY_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['model'],
  additionalProperties: true,
  properties: {
    model: { type: 'string', description: 'Routes the request: any ready replica of any service serving it' },
    stream: {
      type: 'boolean',
      default: false,
      description: 'Answer with server-sent events, each chunk flushed as the workload writes it',
    },
  },
};

export const QDRANT_EXAMPLES: ExamplesObject = {
  createCollection: {
    summary: 'PUT collections/docs: create a collection',
    value: { vectors: { size: 384, distance: 'Cosine' } },
  },
  upsert: {
    summary: 'PUT collections/docs/points?wait=true: upsert points',
    value: { points: [{ id: 1, vector: [0.1, 0.2, 0.3], payload: { text: 'First document' } }] },
  },
  search: {
    summary: 'POST collections/docs/points/search',
    value: { vector: [0.1, 0.2, 0.3], limit: 5, with_payload: true },
  },
};

export const QDRANT_RESPONSE = {
  result: { status: 'acknowledged', operation_id: 0 },
  status: 'ok',
  time: 0.0012,
};
