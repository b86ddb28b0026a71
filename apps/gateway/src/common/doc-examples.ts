import type { ExamplesObject } from '@nestjs/swagger';
import {
  DOCUMENT_CLIENT_CREATE_REQUESTS,
  DOCUMENT_CREATE_REQUESTS,
  DOCUMENT_EXAMPLES_VLLM_REFUSES,
} from '@aiplane/contracts';

/*
 * Request and response examples for Swagger UI, taken from the API document's curl examples so that
 * "Try it out" starts from what the document promises. Where real vLLM refuses an example as the document
 * writes it, the example says so rather than let a reader queue a job that will fail.
 */

export const CREATE_SERVICE_EXAMPLES: ExamplesObject = Object.fromEntries(
  Object.entries({ ...DOCUMENT_CREATE_REQUESTS, ...DOCUMENT_CLIENT_CREATE_REQUESTS }).map(
    ([name, { summary, body }]) => {
      const refusal = (DOCUMENT_EXAMPLES_VLLM_REFUSES as Record<string, string | undefined>)[name];
      const description = refusal && `As the document writes it, vLLM refuses to start: ${refusal}.`;
      return [name, { summary, value: body, ...(description ? { description } : {}) }];
    },
  ),
);

export const CANCEL_EXAMPLES: ExamplesObject = {
  cancel: { summary: 'Stop it, keeping its record', value: { status: 'cancelled' } },
};

export const PROMPT_EXAMPLES: ExamplesObject = {
  simple: {
    summary: 'A prompt',
    value: { prompt: 'Tell me a joke about programming', max_tokens: 100 },
  },
  advanced: {
    summary: 'With model and sampling options',
    value: { prompt: 'Write a short haiku about AI', model: 'gpt2', max_tokens: 64, temperature: 0.7 },
  },
};

const JOKE = 'Why do programmers prefer dark mode? Because light attracts bugs.';
const USAGE = { prompt_tokens: 7, completion_tokens: 16, total_tokens: 23 };

export const PROMPT_RESPONSE_EXAMPLES = {
  service: {
    summary: 'Single service',
    value: {
      success: true,
      text: JOKE,
      response: JOKE,
      usage: USAGE,
      service_id: '3652098',
      endpoint_used: 'chat',
      model: 'Qwen/Qwen2.5-0.5B-Instruct',
    },
  },
  group: {
    summary: 'Replica group: routed to one healthy replica',
    value: {
      success: true,
      text: JOKE,
      response: JOKE,
      usage: USAGE,
      service_id: '3652098',
      endpoint_used: 'chat',
      model: 'Qwen/Qwen2.5-0.5B-Instruct',
      routed_to: '3652098:8002',
      group_id: '3652098',
      total_replicas: 4,
    },
  },
};

export const CREATE_COLLECTION_EXAMPLES: ExamplesObject = {
  cosine_384: {
    summary: '384-dimensional vectors, cosine distance',
    value: { vector_size: 384, distance: 'Cosine' },
  },
};

export const UPSERT_POINTS_EXAMPLES: ExamplesObject = {
  two_documents: {
    summary: 'Two points with payloads',
    value: {
      points: [
        { id: 1, vector: [0.1, 0.2, 0.3, 0.4], payload: { text: 'First document' } },
        { id: 2, vector: [0.4, 0.5, 0.6, 0.7], payload: { text: 'Second document' } },
      ],
    },
  },
};

export const SEARCH_EXAMPLES: ExamplesObject = {
  nearest_five: { summary: 'The 5 nearest points', value: { query_vector: [0.1, 0.2, 0.3, 0.4], limit: 5 } },
};
