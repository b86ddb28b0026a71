import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { generate, renderChatPrompt } from './generation';
import { DEFAULT_MODEL, loadSimConfig } from './sim.config';
import { NO_CHAT_TEMPLATE_MESSAGE, SimServer, startSim, type SimServerOptions } from './sim.server';

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}
interface ChatResponse {
  id: string;
  object: string;
  model: string;
  choices: {
    index: number;
    message: { role: string; content: string };
    finish_reason: string;
    stop_reason: string | null;
  }[];
  usage: Usage;
}
interface CompletionResponse {
  id: string;
  object: string;
  model: string;
  choices: { index: number; text: string; finish_reason: string; stop_reason: string | null }[];
  usage: Usage;
}
interface Chunk {
  id: string;
  object: string;
  model: string;
  choices: {
    index: number;
    delta?: { role?: string; content?: string };
    text?: string;
    finish_reason: string | null;
    stop_reason?: string | null;
  }[];
  usage?: Usage | null;
}

const running: SimServer[] = [];

async function start(env: Record<string, string> = {}, options: SimServerOptions = {}) {
  const lines: string[] = [];
  const config = loadSimConfig({ VLLM_HOST: '127.0.0.1', VLLM_PORT: '0', ...env });
  const sim = new SimServer(config, { log: (line) => lines.push(line), ...options });
  running.push(sim);
  const address = await sim.listen();
  if (typeof address === 'string') throw new Error('expected a TCP address');
  return { sim, base: `http://127.0.0.1:${address.port}`, lines };
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((sim) => sim.close()));
});

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Splits an SSE body into its data payloads, checking the framing on the way. */
function frames(body: string): unknown[] {
  expect(body.endsWith('\n\n')).toBe(true);
  return body
    .split('\n\n')
    .filter((frame) => frame !== '')
    .map((frame) => {
      expect(frame.startsWith('data: ')).toBe(true);
      const data = frame.slice('data: '.length);
      return data === '[DONE]' ? data : (JSON.parse(data) as unknown);
    });
}

const hello = { messages: [{ role: 'user', content: 'Hello there' }] };

describe('SimServer basics', () => {
  it('answers /health with 200 and an empty body, and logs each request', async () => {
    const { base, lines } = await start();
    const res = await fetch(`${base}/health`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    expect(lines[0]).toMatch(/^vllm-sim: serving Qwen\/Qwen2\.5-0\.5B-Instruct on 127\.0\.0\.1:\d+$/);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.some((line) => /^vllm-sim: GET \/health 200 \d+ms$/.test(line))).toBe(true);
  });

  it('lists the served model like vLLM', async () => {
    const { base } = await start({ VLLM_MAX_MODEL_LEN: '2048' });
    const res = await fetch(`${base}/v1/models`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = (await res.json()) as { object: string; data: Record<string, unknown>[] };
    expect(body.object).toBe('list');
    expect(body.data).toHaveLength(1);
    expect(body.data[0]).toMatchObject({
      id: DEFAULT_MODEL,
      object: 'model',
      owned_by: 'vllm',
      root: DEFAULT_MODEL,
      parent: null,
      max_model_len: 2048,
    });
    expect(typeof body.data[0]!.created).toBe('number');
  });

  it('reports a version', async () => {
    const { base } = await start();
    expect(await (await fetch(`${base}/version`)).json()).toEqual({ version: '0.11.0' });
    const pinned = await start({ SIM_VLLM_VERSION: '0.11.1' });
    expect(await (await fetch(`${pinned.base}/version`)).json()).toEqual({ version: '0.11.1' });
  });

  it('answers unknown routes and methods like FastAPI', async () => {
    const { base } = await start();
    const missing = await fetch(`${base}/v1/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ detail: 'Not Found' });
    const wrongMethod = await fetch(`${base}/v1/chat/completions`);
    expect(wrongMethod.status).toBe(405);
    expect(await wrongMethod.json()).toEqual({ detail: 'Method Not Allowed' });
  });

  it('keeps connections alive between requests', async () => {
    const { base } = await start();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<boolean>((resolve, reject) => {
        const req = httpRequest(`${base}/health`, { agent }, (res) => {
          res.resume();
          res.on('end', () => {
            resolve(req.reusedSocket);
          });
        });
        req.on('error', reject);
        req.end();
      });
    expect(await get()).toBe(false);
    expect(await get()).toBe(true);
    agent.destroy();
  });
});

describe('POST /v1/chat/completions', () => {
  it('returns a deterministic chat.completion with usage', async () => {
    const { base } = await start();
    const res = await post(`${base}/v1/chat/completions`, { model: DEFAULT_MODEL, ...hello, max_tokens: 12 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as ChatResponse;
    const expected = generate({
      model: DEFAULT_MODEL,
      prompt: renderChatPrompt(hello.messages),
      maxTokens: 12,
    });
    expect(body.id).toMatch(/^chatcmpl-[0-9a-f]{32}$/);
    expect(body).toMatchObject({ object: 'chat.completion', model: DEFAULT_MODEL });
    expect(body.choices).toEqual([
      {
        index: 0,
        message: { role: 'assistant', reasoning_content: null, content: expected.text, tool_calls: [] },
        logprobs: null,
        finish_reason: 'length',
        stop_reason: null,
      },
    ]);
    expect(body.usage).toEqual({
      prompt_tokens: 7,
      completion_tokens: 12,
      total_tokens: 19,
      prompt_tokens_details: null,
    });

    const again = (await (
      await post(`${base}/v1/chat/completions`, { ...hello, max_tokens: 12 })
    ).json()) as ChatResponse;
    expect(again.choices[0]!.message.content).toBe(expected.text);
  });

  it('honours stop strings and max_completion_tokens', async () => {
    const { base } = await start();
    const full = generate({ model: DEFAULT_MODEL, prompt: renderChatPrompt(hello.messages), maxTokens: 30 });
    const stop = full.text.split(' ')[3]!;
    const body = (await (
      await post(`${base}/v1/chat/completions`, { ...hello, max_completion_tokens: 30, stop: [stop] })
    ).json()) as ChatResponse;
    expect(body.choices[0]).toMatchObject({
      message: { content: full.text.slice(0, full.text.indexOf(stop)) },
      finish_reason: 'stop',
      stop_reason: stop,
    });
  });

  it('ends with finish_reason stop when max_tokens is left out', async () => {
    const { base } = await start();
    const body = (await (await post(`${base}/v1/chat/completions`, hello)).json()) as ChatResponse;
    expect(body.choices[0]!.finish_reason).toBe('stop');
    expect(body.choices[0]!.message.content.endsWith('.')).toBe(true);
  });

  it('refuses chat for a model without chat template with vLLM error body', async () => {
    const { base } = await start({ VLLM_MODEL: 'openai-community/gpt2' });
    const res = await post(`${base}/v1/chat/completions`, { ...hello, max_tokens: 5 });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: { message: NO_CHAT_TEMPLATE_MESSAGE, type: 'BadRequestError', param: null, code: 400 },
    });
    // Completions still work for a base model.
    expect((await post(`${base}/v1/completions`, { prompt: 'Hi' })).status).toBe(200);
  });

  it('accepts only the served model name once one is set', async () => {
    const { base } = await start({ VLLM_SERVED_MODEL_NAME: 'qwen' });
    const ok = (await (
      await post(`${base}/v1/chat/completions`, { model: 'qwen', ...hello, max_tokens: 3 })
    ).json()) as ChatResponse;
    expect(ok.model).toBe('qwen');
    const models = (await (await fetch(`${base}/v1/models`)).json()) as {
      data: { id: string; root: string }[];
    };
    expect(models.data.map((m) => [m.id, m.root])).toEqual([['qwen', DEFAULT_MODEL]]);

    const res = await post(`${base}/v1/chat/completions`, { model: DEFAULT_MODEL, ...hello });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: {
        message: `The model \`${DEFAULT_MODEL}\` does not exist.`,
        type: 'NotFoundError',
        param: null,
        code: 404,
      },
    });
  });

  it.each([
    ['invalid JSON', '{"messages": [', /JSON decode error/],
    ['a missing messages field', { model: DEFAULT_MODEL }, /validation error.*\nmessages: /],
    ['a wrongly typed field', { ...hello, max_tokens: 'ten' }, /max_tokens/],
    ['n > 1', { ...hello, n: 2 }, /n=1/],
    ['a negative temperature', { ...hello, temperature: -1 }, /temperature must be non-negative, got -1\./],
    ['top_p out of range', { ...hello, top_p: 1.5 }, /top_p must be in \(0, 1\], got 1\.5\./],
    ['max_tokens 0', { ...hello, max_tokens: 0 }, /max_tokens must be at least 1, got 0\./],
    ['stream_options without stream', { ...hello, stream_options: { include_usage: true } }, /stream=True/],
  ])('answers 400 for %s', async (_name, body, message) => {
    const { base } = await start();
    const res = await post(`${base}/v1/chat/completions`, body);
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: Record<string, unknown> };
    expect(error).toMatchObject({ type: 'BadRequestError', param: null, code: 400 });
    expect(error.message).toMatch(message);
  });

  it('answers 400 when prompt + max_tokens exceed the context', async () => {
    const { base } = await start({ VLLM_MAX_MODEL_LEN: '100' });
    const res = await post(`${base}/v1/chat/completions`, { ...hello, max_tokens: 94 });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
      "This model's maximum context length is 100 tokens. However, you requested 101 tokens (7 in the messages, 94 in the completion). Please reduce the length of the messages or completion.",
    );
    expect((await post(`${base}/v1/chat/completions`, { ...hello, max_tokens: 93 })).status).toBe(200);
  });

  it('holds gpt2 to its own 1024 tokens when no --max-model-len is given, as vLLM does', async () => {
    const { base } = await start({ VLLM_MODEL: 'gpt2' });
    const models = (await (await fetch(`${base}/v1/models`)).json()) as { data: { max_model_len: number }[] };
    expect(models.data[0]?.max_model_len).toBe(1024);
    const res = await post(`${base}/v1/completions`, { prompt: 'Once upon a time', max_tokens: 1021 });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: Record<string, unknown> };
    expect(error).toMatchObject({ type: 'BadRequestError', param: null, code: 400 });
    expect(error.message).toMatch(
      /^This model's maximum context length is 1024 tokens\. However, you requested 1025 tokens/,
    );
    expect(
      (await post(`${base}/v1/completions`, { prompt: 'Once upon a time', max_tokens: 1020 })).status,
    ).toBe(200);
  });

  it('streams chat.completion.chunk frames ending with usage and [DONE]', async () => {
    const { base } = await start();
    const res = await post(`${base}/v1/chat/completions`, {
      ...hello,
      max_tokens: 6,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const all = frames(await res.text());
    expect(all.at(-1)).toBe('[DONE]');
    const chunks = all.slice(0, -1) as Chunk[];
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === DEFAULT_MODEL)).toBe(true);

    expect(chunks[0]!.choices[0]).toEqual({
      index: 0,
      delta: { role: 'assistant', content: '' },
      logprobs: null,
      finish_reason: null,
    });
    const usageChunk = chunks.at(-1)!;
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toEqual({ prompt_tokens: 7, completion_tokens: 6, total_tokens: 13 });

    const content = chunks.slice(1, -1);
    expect(content).toHaveLength(6);
    expect(content.slice(0, -1).every((c) => c.choices[0]!.finish_reason === null && !('usage' in c))).toBe(
      true,
    );
    expect(content.at(-1)!.choices[0]).toMatchObject({ finish_reason: 'length', stop_reason: null });
    const text = content.map((c) => c.choices[0]!.delta!.content).join('');
    const nonStream = (await (
      await post(`${base}/v1/chat/completions`, { ...hello, max_tokens: 6 })
    ).json()) as ChatResponse;
    expect(text).toBe(nonStream.choices[0]!.message.content);
  });

  it('adds usage to every chunk with continuous_usage_stats, and none without stream_options', async () => {
    const { base } = await start();
    const continuous = frames(
      await (
        await post(`${base}/v1/chat/completions`, {
          ...hello,
          max_tokens: 3,
          stream: true,
          stream_options: { continuous_usage_stats: true },
        })
      ).text(),
    ).slice(0, -1) as Chunk[];
    expect(continuous.map((c) => c.usage?.completion_tokens)).toEqual([0, 1, 2, 3, 3]);

    const plain = frames(
      await (await post(`${base}/v1/chat/completions`, { ...hello, max_tokens: 3, stream: true })).text(),
    ).slice(0, -1) as Chunk[];
    expect(plain).toHaveLength(4);
    expect(plain.every((c) => c.choices.length === 1 && !('usage' in c))).toBe(true);
  });
});

describe('POST /v1/completions', () => {
  it('returns a text_completion, with vLLM default max_tokens of 16', async () => {
    const { base } = await start();
    const res = await post(`${base}/v1/completions`, { model: DEFAULT_MODEL, prompt: 'Once upon a time' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as CompletionResponse;
    expect(body.id).toMatch(/^cmpl-[0-9a-f]{32}$/);
    expect(body.object).toBe('text_completion');
    expect(body.choices).toEqual([
      {
        index: 0,
        text: 'Runs and paper system batch window clear result quiet under window makes. Window while river',
        logprobs: null,
        finish_reason: 'length',
        stop_reason: null,
        prompt_logprobs: null,
      },
    ]);
    expect(body.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 16, total_tokens: 20 });
  });

  it('accepts an array of one prompt, echo and stop', async () => {
    const { base } = await start();
    const single = (await (
      await post(`${base}/v1/completions`, { prompt: ['Once upon a time'], max_tokens: 4 })
    ).json()) as CompletionResponse;
    expect(single.choices[0]!.text).toBe('Runs and paper system');
    const echoed = (await (
      await post(`${base}/v1/completions`, { prompt: 'Once upon a time', max_tokens: 4, echo: true })
    ).json()) as CompletionResponse;
    expect(echoed.choices[0]!.text).toBe('Once upon a timeRuns and paper system');
    const stopped = (await (
      await post(`${base}/v1/completions`, { prompt: 'Once upon a time', stop: ' paper' })
    ).json()) as CompletionResponse;
    expect(stopped.choices[0]).toMatchObject({
      text: 'Runs and',
      finish_reason: 'stop',
      stop_reason: ' paper',
    });
    expect(stopped.usage.completion_tokens).toBe(3);
  });

  it('refuses several prompts, token-id prompts and unknown models', async () => {
    const { base } = await start();
    expect((await post(`${base}/v1/completions`, { prompt: ['a', 'b'] })).status).toBe(400);
    expect((await post(`${base}/v1/completions`, { prompt: [1, 2, 3] })).status).toBe(400);
    const res = await post(`${base}/v1/completions`, { model: 'x', prompt: 'a' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({
      error: { message: 'The model `x` does not exist.', type: 'NotFoundError' },
    });
  });

  it('streams text_completion frames ending with [DONE]', async () => {
    const { base } = await start();
    const all = frames(
      await (
        await post(`${base}/v1/completions`, {
          prompt: 'Once upon a time',
          max_tokens: 4,
          stream: true,
          stream_options: { include_usage: true },
        })
      ).text(),
    );
    expect(all.at(-1)).toBe('[DONE]');
    const chunks = all.slice(0, -1) as Chunk[];
    expect(chunks).toHaveLength(5);
    const tokens = chunks.slice(0, 4);
    expect(tokens.map((c) => c.choices[0]!.text).join('')).toBe('Runs and paper system');
    expect(tokens.every((c) => c.object === 'text_completion' && c.usage === null)).toBe(true);
    expect(tokens.map((c) => c.choices[0]!.finish_reason)).toEqual([null, null, null, 'length']);
    expect(chunks[4]).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 4, completion_tokens: 4, total_tokens: 8 },
    });
  });
});

describe('API key', () => {
  it('guards /v1/* with a bearer token but leaves /health and /metrics open', async () => {
    const { base } = await start({ VLLM_API_KEY: 'sekret' });
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: 'sekret' },
    ];
    for (const headers of attempts) {
      const res = await fetch(`${base}/v1/models`, { headers });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: 'Unauthorized' });
    }
    expect((await post(`${base}/v1/chat/completions`, hello)).status).toBe(401);
    expect((await fetch(`${base}/v1/unknown`)).status).toBe(401);
    // The later guarded prefixes, known or not.
    for (const path of ['/v2/rerank', '/inference/v1/generate', '/cohere/v2/chat']) {
      expect({ path, status: (await fetch(`${base}${path}`)).status }).toEqual({ path, status: 401 });
    }

    const auth = { authorization: 'Bearer sekret' };
    expect((await fetch(`${base}/v1/models`, { headers: auth })).status).toBe(200);
    expect((await post(`${base}/v1/chat/completions`, { ...hello, max_tokens: 2 }, auth)).status).toBe(200);
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
  });

  // Real vLLM's hole, reproduced on purpose: what the job's auth front (recipes/runtime) is for.
  it('serves /invocations and /tokenize WITHOUT the key, like real vLLM', async () => {
    const { base } = await start({ VLLM_API_KEY: 'sekret' });
    const chat = await post(`${base}/invocations`, { ...hello, max_tokens: 4 });
    expect(chat.status).toBe(200);
    const chatBody = (await chat.json()) as ChatResponse;
    expect(chatBody.object).toBe('chat.completion');
    expect(chatBody.usage.completion_tokens).toBe(4);

    const completion = await post(`${base}/invocations`, { prompt: 'Once upon a time', max_tokens: 3 });
    expect(completion.status).toBe(200);
    expect(((await completion.json()) as CompletionResponse).object).toBe('text_completion');

    const tokens = await post(`${base}/tokenize`, { prompt: 'Hello there' });
    expect(tokens.status).toBe(200);
    expect(await tokens.json()).toMatchObject({ count: 2, max_model_len: 32768 });
    expect((await fetch(`${base}/version`)).status).toBe(200);
    expect((await post(`${base}/v1/completions`, { prompt: 'Once upon a time' })).status).toBe(401);
  });
});

describe('unguarded routes', () => {
  it('answers /invocations with the same generation as the /v1 route its body belongs to', async () => {
    const { base } = await start();
    const chatBody = { ...hello, max_tokens: 6, temperature: 0 };
    const viaV1 = (await (await post(`${base}/v1/chat/completions`, chatBody)).json()) as ChatResponse;
    const viaInvocations = (await (await post(`${base}/invocations`, chatBody)).json()) as ChatResponse;
    expect(viaInvocations.choices[0]!.message.content).toBe(viaV1.choices[0]!.message.content);

    const completionBody = { prompt: 'Once upon a time', max_tokens: 5, stream: true };
    const streamed = await post(`${base}/invocations`, completionBody);
    expect(streamed.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const chunks = frames(await streamed.text());
    expect(chunks[chunks.length - 1]).toBe('[DONE]');
    expect((chunks[0] as Chunk).object).toBe('text_completion');
  });

  it('refuses an /invocations body that is neither chat nor completion with a validation error', async () => {
    const { base } = await start();
    const res = await post(`${base}/invocations`, { input: 'hello' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 400, type: 'BadRequestError' } });
    expect((await fetch(`${base}/invocations`)).status).toBe(405);
  });

  it('tokenizes a prompt or a chat deterministically, counting as usage does', async () => {
    const { base } = await start({ VLLM_MAX_MODEL_LEN: '2048' });
    const first = (await (await post(`${base}/tokenize`, { prompt: 'Hello, world' })).json()) as {
      count: number;
      tokens: number[];
      max_model_len: number;
    };
    expect(first.count).toBe(3);
    expect(first.tokens).toHaveLength(3);
    expect(first.max_model_len).toBe(2048);
    expect(await (await post(`${base}/tokenize`, { prompt: 'Hello, world' })).json()).toEqual(first);

    const chat = (await (await post(`${base}/tokenize`, hello)).json()) as { count: number };
    const usage = (
      (await (await post(`${base}/v1/chat/completions`, { ...hello, max_tokens: 1 })).json()) as ChatResponse
    ).usage;
    expect(chat.count).toBe(usage.prompt_tokens);
    expect((await post(`${base}/tokenize`, { prompt: 'x', model: 'nope' })).status).toBe(404);
  });
});

describe('Unix socket', () => {
  it('listens on VLLM_UDS instead of host:port and removes the socket when closed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vllm-sim-'));
    try {
      const socketPath = join(dir, 'vllm.sock');
      const lines: string[] = [];
      const sim = new SimServer(loadSimConfig({ VLLM_UDS: socketPath, VLLM_API_KEY: 'sekret' }), {
        log: (line) => lines.push(line),
      });
      running.push(sim);
      expect(await sim.listen()).toBe(socketPath);
      expect(lines[0]).toBe(`vllm-sim: serving Qwen/Qwen2.5-0.5B-Instruct on unix:${socketPath}`);

      const get = (path: string, headers: Record<string, string> = {}) =>
        new Promise<number>((resolve, reject) => {
          const req = httpRequest({ socketPath, path, headers }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end();
        });
      expect(await get('/v1/models')).toBe(401);
      expect(await get('/v1/models', { authorization: 'Bearer sekret' })).toBe(200);
      expect(await get('/health')).toBe(200);

      await sim.close();
      expect(existsSync(socketPath)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('metrics', () => {
  it('exposes vLLM metric names with model_name and engine, updated by traffic', async () => {
    const { base } = await start({ VLLM_SERVED_MODEL_NAME: 'qwen' });
    await post(`${base}/v1/chat/completions`, { ...hello, max_tokens: 5 });
    await (
      await post(`${base}/v1/completions`, { prompt: 'Once upon a time', max_tokens: 3, stream: true })
    ).text();
    await post(`${base}/v1/completions`, { prompt: 'Once upon a time', stop: ' paper' });

    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    const label = 'engine="0",model_name="qwen"';
    expect(text).toContain(`vllm:num_requests_running{${label}} 0`);
    expect(text).toContain(`vllm:num_requests_waiting{${label}} 0`);
    expect(text).toContain(`vllm:kv_cache_usage_perc{${label}} 0`);
    // 7 + 4 + 4 prompt tokens; 5 + 3 + 3 generated.
    expect(text).toContain(`vllm:prompt_tokens_total{${label}} 15`);
    expect(text).toContain(`vllm:generation_tokens_total{${label}} 11`);
    expect(text).toContain(
      `vllm:request_success_total{engine="0",finished_reason="length",model_name="qwen"} 2`,
    );
    expect(text).toContain(
      `vllm:request_success_total{engine="0",finished_reason="stop",model_name="qwen"} 1`,
    );
    expect(text).toContain(`vllm:time_to_first_token_seconds_count{${label}} 3`);
    expect(text).toContain(`vllm:e2e_request_latency_seconds_count{${label}} 3`);
    expect(text).toContain(`vllm:inter_token_latency_seconds_count{${label}} 8`);
    expect(text).toContain(`vllm:request_generation_tokens_sum{${label}} 11`);
    expect(text).toContain(`vllm:time_to_first_token_seconds_bucket{le="0.001",${label}}`);
    expect(text).toContain('# TYPE vllm:e2e_request_latency_seconds histogram');
  });

  it('shows running and waiting requests while generating', async () => {
    const { base, sim } = await start({ SIM_MAX_NUM_SEQS: '1', SIM_TTFT_MS: '600' });
    const first = post(`${base}/v1/completions`, { prompt: 'a', max_tokens: 2 });
    const second = post(`${base}/v1/completions`, { prompt: 'b', max_tokens: 2 });
    const waitingLine = 'vllm:num_requests_waiting{engine="0",model_name="Qwen/Qwen2.5-0.5B-Instruct"} 1';
    let during = '';
    for (let i = 0; i < 50 && !during.includes(waitingLine); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      during = await sim.metrics.render();
    }
    expect(during).toContain(
      'vllm:num_requests_running{engine="0",model_name="Qwen/Qwen2.5-0.5B-Instruct"} 1',
    );
    expect(during).toContain(waitingLine);
    await Promise.all([first, second]);
    const after = await sim.metrics.render();
    expect(after).toContain(
      'vllm:num_requests_running{engine="0",model_name="Qwen/Qwen2.5-0.5B-Instruct"} 0',
    );
    expect(after).toContain(
      'vllm:num_requests_waiting{engine="0",model_name="Qwen/Qwen2.5-0.5B-Instruct"} 0',
    );
  });

  it('stops a stream whose client disconnects and frees its slot, recording it as vLLM 0.11 does', async () => {
    const { base, sim } = await start({ SIM_TOKEN_LATENCY_MS: '20' });
    const res = await post(`${base}/v1/completions`, { prompt: 'a', max_tokens: 500, stream: true });
    const reader = res.body!.getReader();
    await reader.read();
    const during = await sim.metrics.render();
    expect(during).toContain(
      'vllm:num_requests_running{engine="0",model_name="Qwen/Qwen2.5-0.5B-Instruct"} 1',
    );
    expect(during).toMatch(
      /vllm:kv_cache_usage_perc\{engine="0",model_name="Qwen\/Qwen2\.5-0\.5B-Instruct"\} 0\.0\d+/,
    );
    await reader.cancel();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const text = await sim.metrics.render();
    expect(text).toContain('vllm:num_requests_running{engine="0",model_name="Qwen/Qwen2.5-0.5B-Instruct"} 0');
    // vLLM 0.11 never counts an abort as finished: the request shows in TTFT, not in the finished series.
    expect(text).toContain('finished_reason="abort",model_name="Qwen/Qwen2.5-0.5B-Instruct"} 0');
    expect(text).toContain(
      'vllm:time_to_first_token_seconds_count{engine="0",model_name="Qwen/Qwen2.5-0.5B-Instruct"} 1',
    );
    expect(text).toContain(
      'vllm:e2e_request_latency_seconds_count{engine="0",model_name="Qwen/Qwen2.5-0.5B-Instruct"} 0',
    );
    expect(text).toContain('vllm:kv_cache_usage_perc{engine="0",model_name="Qwen/Qwen2.5-0.5B-Instruct"} 0');
  });
});

describe('simulator knobs', () => {
  it('answers every /v1 request with 500 when SIM_FAIL_RATE=1', async () => {
    const { base } = await start({ SIM_FAIL_RATE: '1' });
    for (const res of [await fetch(`${base}/v1/models`), await post(`${base}/v1/chat/completions`, hello)]) {
      expect(res.status).toBe(500);
      expect(await res.json()).toMatchObject({
        error: { type: 'InternalServerError', param: null, code: 500 },
      });
    }
    expect((await fetch(`${base}/health`)).status).toBe(200);
  });

  it('fails the drawn fraction of requests', async () => {
    const draws = [0.1, 0.9];
    const { base } = await start({ SIM_FAIL_RATE: '0.5' }, { random: () => draws.shift() ?? 0 });
    expect((await fetch(`${base}/v1/models`)).status).toBe(500);
    expect((await fetch(`${base}/v1/models`)).status).toBe(200);
  });

  it('delays the first token by SIM_TTFT_MS and each next one by SIM_TOKEN_LATENCY_MS', async () => {
    const { base } = await start({ SIM_TTFT_MS: '200', SIM_TOKEN_LATENCY_MS: '30' });
    const sent = performance.now();
    const res = await post(`${base}/v1/chat/completions`, { ...hello, max_tokens: 5, stream: true });
    const reader = res.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    const decoder = new TextDecoder();
    let firstData = -1;
    let body = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (firstData < 0) firstData = performance.now() - sent;
      body += decoder.decode(value, { stream: true });
    }
    const total = performance.now() - sent;
    expect(firstData).toBeGreaterThanOrEqual(190);
    // TTFT + 4 inter-token gaps
    expect(total).toBeGreaterThanOrEqual(190 + 4 * 28);
    expect(frames(body).at(-1)).toBe('[DONE]');

    const plainStart = performance.now();
    expect((await post(`${base}/v1/chat/completions`, { ...hello, max_tokens: 1 })).status).toBe(200);
    expect(performance.now() - plainStart).toBeGreaterThanOrEqual(190);
  });

  it('binds the port only after SIM_STARTUP_DELAY_MS', async () => {
    const config = loadSimConfig({ VLLM_HOST: '127.0.0.1', VLLM_PORT: '0', SIM_STARTUP_DELAY_MS: '200' });
    const began = performance.now();
    const sim = await startSim(config, { log: () => undefined });
    running.push(sim);
    expect(performance.now() - began).toBeGreaterThanOrEqual(190);
    expect(sim.server.listening).toBe(true);
  });

  it('never binds when stopped during the startup delay', async () => {
    const config = loadSimConfig({ VLLM_HOST: '127.0.0.1', VLLM_PORT: '0', SIM_STARTUP_DELAY_MS: '5000' });
    const stop = new AbortController();
    const starting = startSim(config, { log: () => undefined, signal: stop.signal });
    stop.abort();
    await expect(starting).rejects.toThrow();
  });

  it('answers 413 to bodies over 1 MiB', async () => {
    const { base } = await start();
    const res = await post(`${base}/v1/completions`, { prompt: 'x'.repeat(1024 * 1024 + 10) });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: 413 } });
  });

  it('closes quickly even with a stream in flight', async () => {
    const { base, sim } = await start({ SIM_TOKEN_LATENCY_MS: '50' });
    const res = await post(`${base}/v1/completions`, { prompt: 'a', max_tokens: 1000, stream: true });
    const reader = res.body!.getReader();
    await reader.read();
    const began = performance.now();
    await sim.close();
    expect(performance.now() - began).toBeLessThan(500);
    await expect(
      (async () => {
        for (;;) if ((await reader.read()).done) return;
      })(),
    ).rejects.toThrow();
  });
});
