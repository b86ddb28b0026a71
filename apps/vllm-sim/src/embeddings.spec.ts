import { request as httpRequest } from 'node:http';

import { loadSimConfig } from './sim.config';
import { SimServer } from './sim.server';

const BGE = 'BAAI/bge-small-en-v1.5';

interface EmbeddingResponse {
  id: string;
  object: string;
  created: number;
  model: string;
  data: { index: number; object: string; embedding: number[] | string }[];
  usage: { prompt_tokens: number; total_tokens: number; completion_tokens: number };
}

const running: SimServer[] = [];

async function start(env: Record<string, string> = {}) {
  const config = loadSimConfig({ VLLM_HOST: '127.0.0.1', VLLM_PORT: '0', VLLM_MODEL: BGE, ...env });
  const sim = new SimServer(config, { log: () => undefined });
  running.push(sim);
  const address = await sim.listen();
  if (typeof address === 'string') throw new Error('expected a TCP address');
  return { sim, base: `http://127.0.0.1:${address.port}`, port: address.port };
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((sim) => sim.close()));
});

const post = (url: string, body: unknown): Promise<Response> =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function embeddings(base: string, body: unknown): Promise<EmbeddingResponse> {
  const res = await post(`${base}/v1/embeddings`, body);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/json');
  return (await res.json()) as EmbeddingResponse;
}

const norm = (v: readonly number[]): number => Math.sqrt(v.reduce((sum, x) => sum + x * x, 0));
const dot = (a: readonly number[], b: readonly number[]): number =>
  a.reduce((sum, x, i) => sum + x * (b[i] ?? 0), 0);

/** What the openai SDK does with a base64 embedding: little-endian float32 values. */
function decodeBase64(text: string): number[] {
  const bytes = Buffer.from(text, 'base64');
  return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
}

describe('POST /v1/embeddings on a pooling model', () => {
  it("answers vLLM's EmbeddingResponse with deterministic unit vectors of the model's dimension", async () => {
    const { base } = await start();
    const body = await embeddings(base, { model: BGE, input: 'The quick brown fox' });
    expect(body).toEqual({
      id: expect.stringMatching(/^embd-[0-9a-f]{32}$/) as unknown,
      object: 'list',
      created: expect.any(Number) as unknown,
      model: BGE,
      data: [{ index: 0, object: 'embedding', embedding: expect.any(Array) as unknown }],
      usage: { prompt_tokens: 4, total_tokens: 4, completion_tokens: 0, prompt_tokens_details: null },
    });
    const vector = body.data[0]?.embedding as number[];
    expect(vector).toHaveLength(384);
    expect(norm(vector)).toBeCloseTo(1, 5);
    const again = await embeddings(base, { model: BGE, input: 'The quick brown fox' });
    expect(again.data[0]?.embedding).toEqual(vector);
  });

  it('embeds a list of strings in order, and related texts closer than unrelated ones', async () => {
    const { base } = await start();
    const body = await embeddings(base, {
      model: BGE,
      input: ['Berlin is the capital of Germany', 'the capital of Germany', 'bananas are yellow'],
    });
    expect(body.data.map((d) => d.index)).toEqual([0, 1, 2]);
    const [a, b, c] = body.data.map((d) => d.embedding as number[]) as [number[], number[], number[]];
    expect(dot(a, b)).toBeGreaterThan(dot(a, c));
    expect(body.usage.prompt_tokens).toBe(6 + 4 + 3);
  });

  it('answers base64 as little-endian float32, the same vector as the float answer', async () => {
    const { base } = await start();
    const floats = await embeddings(base, { model: BGE, input: 'hello world' });
    const encoded = await embeddings(base, { model: BGE, input: 'hello world', encoding_format: 'base64' });
    const text = encoded.data[0]?.embedding;
    expect(typeof text).toBe('string');
    expect(decodeBase64(text as string)).toEqual(floats.data[0]?.embedding);
  });

  it('takes token ids, one array or several, counting them as the prompt', async () => {
    const { base } = await start();
    const one = await embeddings(base, { model: BGE, input: [101, 7592, 2088, 102] });
    expect(one.data).toHaveLength(1);
    expect(one.usage.prompt_tokens).toBe(4);
    const two = await embeddings(base, {
      model: BGE,
      input: [
        [101, 7592],
        [101, 7592, 102],
      ],
    });
    expect(two.data).toHaveLength(2);
    expect(two.data[0]?.embedding).not.toEqual(two.data[1]?.embedding);
    expect(two.usage.total_tokens).toBe(5);
  });

  it('sizes vectors by SIM_EMBEDDING_DIM and defaults the model field to the served model', async () => {
    const { base } = await start({ SIM_EMBEDDING_DIM: '8' });
    const body = await embeddings(base, { input: 'x' });
    expect(body.model).toBe(BGE);
    expect(body.data[0]?.embedding).toHaveLength(8);
  });

  it('shortens vectors with dimensions only for a Matryoshka model', async () => {
    const { base } = await start();
    const refused = await post(`${base}/v1/embeddings`, { model: BGE, input: 'x', dimensions: 64 });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      error: {
        message: `Model "${BGE}" does not support matryoshka representation, changing output dimensions will lead to poor results.`,
        type: 'BadRequestError',
        param: null,
        code: 400,
      },
    });

    const nomic = await start({ VLLM_MODEL: 'nomic-ai/nomic-embed-text-v1.5' });
    const body = await embeddings(nomic.base, { input: 'x', dimensions: 64 });
    const vector = body.data[0]?.embedding as number[];
    expect(vector).toHaveLength(64);
    expect(norm(vector)).toBeCloseTo(1, 5);
  });

  it("refuses an input longer than the context with vLLM's message", async () => {
    const { base } = await start({ VLLM_MAX_MODEL_LEN: '5' });
    const res = await post(`${base}/v1/embeddings`, { model: BGE, input: 'one two three four five six' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
      "This model's maximum context length is 5 tokens. However, you requested 6 tokens in the input for embedding generation. Please reduce the length of the input.",
    );
    const truncated = await embeddings(base, {
      model: BGE,
      input: 'one two three four five six',
      truncate_prompt_tokens: 5,
    });
    expect(truncated.usage.prompt_tokens).toBe(5);
  });

  it('answers an unknown model with 404 and a body without input with 400', async () => {
    const { base } = await start();
    const unknown = await post(`${base}/v1/embeddings`, { model: 'nope', input: 'x' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { type: 'NotFoundError', code: 404 } });
    const invalid = await post(`${base}/v1/embeddings`, { model: BGE });
    expect(invalid.status).toBe(400);
  });

  it('refuses chat and completions as vLLM does for a pooling model, and lists the model', async () => {
    const { base } = await start();
    const chat = await post(`${base}/v1/chat/completions`, {
      model: BGE,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(chat.status).toBe(400);
    expect(await chat.json()).toEqual({
      error: {
        message: 'The model does not support Chat Completions API',
        type: 'BadRequestError',
        param: null,
        code: 400,
      },
    });
    const completion = await post(`${base}/v1/completions`, { model: BGE, prompt: 'hi' });
    expect(completion.status).toBe(400);
    expect(await completion.json()).toMatchObject({
      error: { message: 'The model does not support Completions API', code: 400 },
    });
    const models = (await (await fetch(`${base}/v1/models`)).json()) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toEqual([BGE]);
  });

  it('counts each input as a finished request in /metrics', async () => {
    const { base } = await start();
    await embeddings(base, { model: BGE, input: ['a b', 'c'] });
    const text = await (await fetch(`${base}/metrics`)).text();
    const labels = `engine="0",model_name="${BGE}"`;
    expect(text).toContain(`vllm:prompt_tokens_total{${labels}} 3`);
    expect(text).toContain(`vllm:generation_tokens_total{${labels}} 0`);
    expect(text).toContain(
      `vllm:request_success_total{engine="0",finished_reason="stop",model_name="${BGE}"} 2`,
    );
    expect(text).toContain(`vllm:num_requests_running{${labels}} 0`);
  });

  it('drops a request whose client goes away while it is being computed', async () => {
    const { base, port } = await start({ SIM_TTFT_MS: '300' });
    const payload = JSON.stringify({ model: BGE, input: 'slow' });
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/v1/embeddings',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
    });
    req.on('error', () => undefined);
    req.end(payload);
    const labels = `engine="0",model_name="${BGE}"`;
    await waitFor(async () =>
      (await (await fetch(`${base}/metrics`)).text()).includes(`vllm:num_requests_running{${labels}} 1`),
    );
    req.destroy();
    await waitFor(async () =>
      (await (await fetch(`${base}/metrics`)).text()).includes(`vllm:num_requests_running{${labels}} 0`),
    );
    await new Promise((resolve) => setTimeout(resolve, 400));
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toContain(`vllm:prompt_tokens_total{${labels}} 0`);
    expect(text).toContain(
      `vllm:request_success_total{engine="0",finished_reason="stop",model_name="${BGE}"} 0`,
    );
  });
});

describe('POST /v1/embeddings on a generative model', () => {
  it('refuses with 400, as vLLM does when the model has no pooling runner', async () => {
    const { base } = await start({ VLLM_MODEL: 'Qwen/Qwen2.5-0.5B-Instruct' });
    const res = await post(`${base}/v1/embeddings`, { model: 'Qwen/Qwen2.5-0.5B-Instruct', input: 'x' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: {
        message: 'The model does not support Embeddings API',
        type: 'BadRequestError',
        param: null,
        code: 400,
      },
    });
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
