import { execFile } from 'node:child_process';
import * as path from 'node:path';
import OpenAI, { type APIError } from 'openai';
import { OVERHEAD_HEADER } from '@aiplane/contracts';
import { baseEnv, ROOT, waitForStatus, withStack } from '@aiplane/testing';
import { pythonWithOpenAI } from './support/data-plane.client';

const PORTS = { gateway: 19001, orchestrator: 19000, proxy: 19003 };
const CHAT_MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';
// The simulator serves a model as vLLM's pooling runner would when its name is an embedding family's.
const EMBEDDING_MODEL = 'BAAI/bge-small-en-v1.5';
const EMBEDDING_DIMENSIONS = 384;
// Its simulator waits ten minutes before it listens: a model that is known but never ready here.
const WAITING_MODEL = 'facebook/opt-125m';
const OVERHEAD = /^\d+(\.\d)?$/;

/** What the gateway adds to OpenAI's model object. */
interface ListedModel extends OpenAI.Model {
  status: string;
  services: string[];
  ready_replicas: number;
}

interface OpenAIErrorBody {
  error: { message: string; type: string; code: string | null };
}

/** How far apart two vectors are at their farthest coordinate; Infinity when their lengths differ. */
function largestDifference(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) return Infinity;
  return Math.max(0, ...a.map((value, i) => Math.abs(value - (b[i] ?? NaN))));
}

/** The error a promise rejects with; fails the test if it resolves. */
async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

// The promise: the official clients, unmodified, against the gateway's `/v1` (and a service's
// own `/v1`, and the orchestrator's for on-cluster clients), typed errors included.
describe('the official OpenAI SDKs (local executor)', () => {
  const suite = withStack(() => ({ label: 'openai-sdk', scheduler: 'local', ports: PORTS }));
  const { api } = suite;
  const ids = { chat: '', embedding: '', waiting: '' };
  let client: OpenAI;

  beforeAll(async () => {
    const create = async (environment: Record<string, string>): Promise<string> => {
      const response = await api<{ id: string }>('POST', '/api/v1/services', {
        recipe_name: 'inference/vllm-single-node',
        config: { environment },
      });
      expect(response.status).toBe(200);
      return response.body.id;
    };
    // Ports of their own: jobs started in the same second could otherwise pick the same free one.
    ids.chat = await create({ VLLM_MODEL: CHAT_MODEL, VLLM_PORT: '29001' });
    ids.embedding = await create({ VLLM_MODEL: EMBEDDING_MODEL, VLLM_PORT: '29011' });
    ids.waiting = await create({
      VLLM_MODEL: WAITING_MODEL,
      VLLM_PORT: '29021',
      SIM_STARTUP_DELAY_MS: '600000',
    });
    await Promise.all([
      waitForStatus(api, ids.chat, ['running']),
      waitForStatus(api, ids.embedding, ['running']),
    ]);
    // Any key: the local gateway accepts it, and no retries, so that a 503 reaches the test.
    client = new OpenAI({ baseURL: `${suite.stack.gatewayUrl}/v1`, apiKey: 'sk-anything', maxRetries: 0 });
  });

  it('lists every model with its status, services and ready replicas, the one still starting too', async () => {
    const models = (await client.models.list()).data as ListedModel[];
    const byId = new Map(models.map((model) => [model.id, model]));
    expect(byId.get(CHAT_MODEL)).toMatchObject({
      object: 'model',
      owned_by: 'aiplane',
      created: expect.any(Number),
      status: 'running',
      services: [ids.chat],
      ready_replicas: 1,
    });
    expect(byId.get(EMBEDDING_MODEL)).toMatchObject({ status: 'running', services: [ids.embedding] });
    expect(byId.get(WAITING_MODEL)).toMatchObject({ services: [ids.waiting], ready_replicas: 0 });
    expect(['pending', 'configuring']).toContain(byId.get(WAITING_MODEL)?.status);
  });

  it('chats, whole and streamed, and completes, with the overhead header on the answer', async () => {
    const { data: chat, response } = await client.chat.completions
      .create({
        model: CHAT_MODEL,
        messages: [{ role: 'user', content: 'Say hello' }],
        max_completion_tokens: 8,
      })
      .withResponse();
    expect(chat).toMatchObject({ object: 'chat.completion', model: CHAT_MODEL });
    expect(chat.choices[0]?.message.content).toEqual(expect.stringMatching(/\S/));
    expect(chat.usage?.completion_tokens).toBeGreaterThan(0);
    expect(response.headers.get(OVERHEAD_HEADER)).toMatch(OVERHEAD);

    const stream = await client.chat.completions.create({
      model: CHAT_MODEL,
      messages: [{ role: 'user', content: 'Count to ten' }],
      max_completion_tokens: 12,
      stream: true,
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toMatch(/\S/);
    expect(['length', 'stop']).toContain(chunks[chunks.length - 1]?.choices[0]?.finish_reason);

    const completion = await client.completions.create({
      model: CHAT_MODEL,
      prompt: 'Once upon a time',
      max_tokens: 8,
    });
    expect(completion).toMatchObject({ object: 'text_completion', model: CHAT_MODEL });
    expect(completion.choices[0]?.text).toEqual(expect.stringMatching(/\S/));
  });

  it('embeds on the embedding model: floats, base64, and the SDK default, all the same vectors', async () => {
    const input = ['The quick brown fox', 'jumps over the lazy dog'];
    const floats = await client.embeddings.create({
      model: EMBEDDING_MODEL,
      input,
      encoding_format: 'float',
    });
    expect(floats).toMatchObject({ object: 'list', model: EMBEDDING_MODEL });
    expect(floats.data.map((item) => item.index)).toEqual([0, 1]);
    for (const item of floats.data) {
      expect(item.embedding).toHaveLength(EMBEDDING_DIMENSIONS);
      expect(item.embedding.every((value) => Number.isFinite(value))).toBe(true);
    }
    expect(floats.data[0]?.embedding).not.toEqual(floats.data[1]?.embedding);

    // Asked for explicitly, base64 comes back as the packed little-endian float32 string.
    const packed = await client.embeddings.create({
      model: EMBEDDING_MODEL,
      input,
      encoding_format: 'base64',
    });
    const raw = packed.data[0]?.embedding as unknown as string;
    expect(typeof raw).toBe('string');
    // Copied out: a Buffer may sit at an offset a Float32Array cannot start at.
    const decoded = Array.from(new Float32Array(Uint8Array.from(Buffer.from(raw, 'base64')).buffer));
    expect(decoded).toHaveLength(EMBEDDING_DIMENSIONS);
    expect(largestDifference(decoded, floats.data[0]?.embedding ?? [])).toBeLessThan(1e-6);

    // Without encoding_format the SDK asks for base64 itself and decodes it: deterministic vectors.
    const byDefault = await client.embeddings.create({ model: EMBEDDING_MODEL, input: input[1] ?? '' });
    expect(byDefault.data[0]?.embedding).toHaveLength(EMBEDDING_DIMENSIONS);
    expect(
      largestDifference(byDefault.data[0]?.embedding ?? [], floats.data[1]?.embedding ?? []),
    ).toBeLessThan(1e-6);
  });

  it("works pinned to one service, with the service's own /v1 as its base URL", async () => {
    const pinned = new OpenAI({
      baseURL: `${suite.stack.gatewayUrl}/api/v1/vllm/${ids.chat}/v1`,
      apiKey: 'sk-anything',
      maxRetries: 0,
    });
    const models = (await pinned.models.list()).data.map((model) => model.id);
    expect(models).toContain(CHAT_MODEL);
    const chat = await pinned.chat.completions.create({
      model: CHAT_MODEL,
      messages: [{ role: 'user', content: 'Hi' }],
      max_completion_tokens: 4,
    });
    expect(chat.choices[0]?.message.content).toEqual(expect.stringMatching(/\S/));
    const chunks: string[] = [];
    const stream = await pinned.completions.create({
      model: CHAT_MODEL,
      prompt: 'Hi',
      max_tokens: 6,
      stream: true,
    });
    for await (const chunk of stream) chunks.push(chunk.choices[0]?.text ?? '');
    expect(chunks.length).toBeGreaterThan(2);
  });

  it('surfaces errors as the typed exceptions: unknown model, missing model, model not ready yet', async () => {
    const unknown = await caught(
      client.chat.completions.create({ model: 'no-such/model', messages: [{ role: 'user', content: 'x' }] }),
    );
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect(unknown).toMatchObject({ status: 404, code: 'model_not_found' });
    expect((unknown as APIError).message).toContain('no-such/model');

    // The SDK's types insist on a model, but it sends what it is given.
    const missing = await caught(
      client.chat.completions.create({ messages: [{ role: 'user', content: 'x' }] } as never),
    );
    expect(missing).toBeInstanceOf(OpenAI.BadRequestError);
    expect((missing as APIError).message).toMatch(/model/i);
    // And the exact OpenAI shape, as a plain HTTP client sees it.
    const raw = await api<OpenAIErrorBody>('POST', '/v1/chat/completions', {
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(raw.status).toBe(400);
    expect(raw.body.error.message).toMatch(/model/i);
    expect(Object.keys(raw.body.error).sort()).toEqual(['code', 'message', 'type']);

    const notReady = await caught(
      client.chat.completions.create({ model: WAITING_MODEL, messages: [{ role: 'user', content: 'x' }] }),
    );
    expect(notReady).toBeInstanceOf(OpenAI.InternalServerError);
    expect(notReady).toMatchObject({ status: 503 });
    const retryAfter = (notReady as APIError).headers?.get('retry-after');
    expect(retryAfter).toMatch(/^\d+$/);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });

  it("serves on-cluster clients at the orchestrator's /v1, behind its bearer token", async () => {
    const { orchestratorUrl, orchestratorToken } = suite.stack;
    const onCluster = new OpenAI({
      baseURL: `${orchestratorUrl}/v1`,
      apiKey: orchestratorToken,
      maxRetries: 0,
    });
    const models = (await onCluster.models.list()).data.map((model) => model.id);
    expect(models).toEqual(expect.arrayContaining([CHAT_MODEL, EMBEDDING_MODEL, WAITING_MODEL]));
    const chat = await onCluster.chat.completions.create({
      model: CHAT_MODEL,
      messages: [{ role: 'user', content: 'Hi' }],
      max_completion_tokens: 4,
    });
    expect(chat.choices[0]?.message.content).toEqual(expect.stringMatching(/\S/));

    const wrongKey = new OpenAI({ baseURL: `${orchestratorUrl}/v1`, apiKey: 'not-the-token', maxRetries: 0 });
    expect(await caught(wrongKey.models.list())).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('does the same through the Python SDK', async () => {
    const script = path.join(ROOT, 'tests', 'e2e', 'support', 'openai_sdk_check.py');
    const args = [
      script,
      '--base-url',
      `${suite.stack.gatewayUrl}/v1`,
      '--chat-model',
      CHAT_MODEL,
      '--embedding-model',
      EMBEDDING_MODEL,
      '--waiting-model',
      WAITING_MODEL,
    ];
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>(
      (resolve) => {
        execFile(
          pythonWithOpenAI(),
          args,
          { env: { ...baseEnv(), PYTHONDONTWRITEBYTECODE: '1' }, timeout: 60_000 },
          (error, out, err) => {
            resolve({
              code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1,
              stdout: out,
              stderr: err,
            });
          },
        );
      },
    );
    if (code !== 0) throw new Error(`the Python SDK check exited with ${code}\n${stdout}\n${stderr}`);
    const report = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
    expect(report).toEqual({
      models: expect.arrayContaining([
        { id: CHAT_MODEL, status: 'running', services: [ids.chat], ready_replicas: 1 },
        { id: EMBEDDING_MODEL, status: 'running', services: [ids.embedding], ready_replicas: 1 },
      ]),
      chat_text: true,
      stream_chunks: expect.any(Number),
      stream_text: true,
      stream_finish_reason: expect.stringMatching(/^(length|stop)$/),
      completion_text: true,
      embedding_dimensions: [EMBEDDING_DIMENSIONS, EMBEDDING_DIMENSIONS],
      embedding_default_equals_float: true,
      unknown_model: { type: 'NotFoundError', status: 404, code: 'model_not_found' },
      missing_model: { type: 'BadRequestError', status: 400 },
      not_ready: { type: 'InternalServerError', status: 503, retry_after: expect.stringMatching(/^\d+$/) },
    });
    expect(report.stream_chunks).toBeGreaterThan(2);
  });
});
