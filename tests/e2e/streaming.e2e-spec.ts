import { MAX_LOG_LINES, OVERHEAD_HEADER } from '@aiplane/contracts';
import { waitForStatus, waitUntil, withStack } from '@aiplane/testing';
import {
  metricSum,
  rawRequest,
  simulatorPid,
  sseData,
  vllmMetrics,
  type RawAnswer,
  type RawRequest,
} from './support/data-plane.client';

const PORTS = { gateway: 19011, orchestrator: 19010, proxy: 19013 };
const TOKEN_LATENCY_MS = 20;
const MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';
// The victim of the mid-stream failure serves a model of its own, so that /v1 routes to it alone.
const VICTIM_MODEL = 'Qwen/Qwen2.5-1.5B-Instruct';
const OVERHEAD = /^\d+(\.\d)?$/;
const JSON_HEADERS = { 'content-type': 'application/json' };

/** OpenAI's error shape: exactly message, type and code (which may be null). */
function openAIError(text: string, mentions: RegExp): { message: boolean; type: boolean; keys: string[] } {
  const body = JSON.parse(text) as { error?: Record<string, unknown> };
  const error = body.error ?? {};
  return {
    message: typeof error.message === 'string' && mentions.test(error.message),
    type: typeof error.type === 'string',
    keys: Object.keys(body)
      .concat(Object.keys(error).map((key) => `error.${key}`))
      .sort(),
  };
}

function chatBody(model: string, maxTokens: number, stream = true): string {
  return JSON.stringify({
    model,
    messages: [{ role: 'user', content: 'Tell me a long story' }],
    max_tokens: maxTokens,
    stream,
  });
}

interface WorkloadCounters {
  prompt_tokens: number;
  generation_tokens: number;
  finished: number;
  e2e: number;
  running: number;
}

/** The simulator's counters that a request it serves moves. */
async function workloadCounters(
  api: Parameters<typeof vllmMetrics>[0],
  id: string,
): Promise<WorkloadCounters> {
  const metrics = await vllmMetrics(api, id);
  return {
    prompt_tokens: metricSum(metrics, 'vllm:prompt_tokens_total'),
    generation_tokens: metricSum(metrics, 'vllm:generation_tokens_total'),
    finished: metricSum(metrics, 'vllm:request_success_total'),
    e2e: metricSum(metrics, 'vllm:e2e_request_latency_seconds_count'),
    running: metricSum(metrics, 'vllm:num_requests_running'),
  };
}

// Streaming end to end through every hop (gateway → proxy → the job's front → vLLM simulator), with
// the simulator pacing its tokens: chunks arrive as they are made, a client that leaves stops the
// generation, a workload that dies mid-answer ends the stream with one error event.
describe('streaming through the data plane (local executor)', () => {
  const suite = withStack(() => ({ label: 'streaming', scheduler: 'local', ports: PORTS }));
  const { api } = suite;
  let id = '';
  let victimId = '';

  const url = (path: string): string => `${suite.stack.gatewayUrl}${path}`;
  const post = (path: string, body: string, options: RawRequest = {}): Promise<RawAnswer> =>
    rawRequest(url(path), { method: 'POST', headers: JSON_HEADERS, body, ...options });

  beforeAll(async () => {
    const create = async (environment: Record<string, string>): Promise<string> => {
      const response = await api<{ id: string }>('POST', '/api/v1/services', {
        recipe_name: 'inference/vllm-single-node',
        config: { environment: { SIM_TOKEN_LATENCY_MS: String(TOKEN_LATENCY_MS), ...environment } },
      });
      expect(response.status).toBe(200);
      return response.body.id;
    };
    id = await create({ VLLM_MODEL: MODEL, VLLM_PORT: '29031' });
    victimId = await create({ VLLM_MODEL: VICTIM_MODEL, VLLM_PORT: '29041' });
    await Promise.all([waitForStatus(api, id, ['running']), waitForStatus(api, victimId, ['running'])]);
  });

  /** A complete SSE answer, paced by the simulator: spread over time, in many reads, [DONE] last. */
  function expectPacedStream(answer: RawAnswer, tokens: number): void {
    expect({ status: answer.status, complete: answer.complete, error: answer.error }).toEqual({
      status: 200,
      complete: true,
      error: undefined,
    });
    expect(answer.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(answer.headers[OVERHEAD_HEADER]).toMatch(OVERHEAD);
    expect(answer.headers['content-encoding']).toBeUndefined();
    const data = sseData(answer.text);
    expect(data[data.length - 1]).toBe('[DONE]');
    expect(data.filter((payload) => payload.includes('"error"'))).toEqual([]);
    expect(data.length).toBeGreaterThanOrEqual(tokens);

    // Tokens 2..n each come TOKEN_LATENCY_MS after the one before: the span from the first read to
    // the last is near (n - 1) × latency when every hop flushes each chunk, and ~0 for one burst.
    const first = answer.reads[0]?.at ?? 0;
    const last = answer.reads[answer.reads.length - 1]?.at ?? 0;
    const expected = (tokens - 1) * TOKEN_LATENCY_MS;
    expect(last - first).toBeGreaterThan(expected * 0.7);
    expect(last - first).toBeLessThan(expected * 3 + 2_000);
    expect(answer.reads.length).toBeGreaterThanOrEqual(tokens / 3);
    // No read holds more than a third of the events (a loaded machine may merge a few).
    const largest = Math.max(...answer.reads.map((read) => sseData(read.text).length));
    expect(largest).toBeLessThanOrEqual(Math.ceil(data.length / 3));
  }

  it('streams root /v1 chat chunk by chunk, spread over the generation, ending with [DONE]', async () => {
    const tokens = 40;
    const answer = await post('/v1/chat/completions', chatBody(MODEL, tokens));
    expectPacedStream(answer, tokens);
    const chunks = sseData(answer.text)
      .slice(0, -1)
      .map((payload) => JSON.parse(payload) as { object: string; model: string });
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk' && chunk.model === MODEL)).toBe(
      true,
    );
  });

  it("streams the v1 prompt route with stream:true as the workload's own chunks", async () => {
    const tokens = 30;
    const answer = await post(
      `/api/v1/vllm/${id}/prompt`,
      JSON.stringify({ prompt: 'Tell me a long story', max_tokens: tokens, stream: true }),
    );
    expectPacedStream(answer, tokens);
    const objects = new Set(
      sseData(answer.text)
        .slice(0, -1)
        .map((payload) => (JSON.parse(payload) as { object: string }).object),
    );
    expect([...objects]).toEqual([expect.stringMatching(/^(chat\.completion\.chunk|text_completion)$/)]);
  });

  it('a client that disconnects mid-stream stops the generation at the simulator', async () => {
    const before = await workloadCounters(api, id);
    expect(before.running).toBe(0);
    const tokens = 1_000; // 20 s of generation if nobody stopped it
    const cut = await post('/v1/chat/completions', chatBody(MODEL, tokens), { disconnectAfterReads: 5 });
    expect(cut.status).toBe(200);
    const disconnected = performance.now();

    // The simulator's request ends as soon as the abort reaches it: nothing running, and the token
    // counter stops far below the 1,000 tokens asked for.
    let now = before;
    await waitUntil(
      () => now.running === 0 && now.generation_tokens > before.generation_tokens,
      3_000,
      async () => {
        now = await workloadCounters(api, id);
      },
    );
    const stoppedWithin = performance.now() - disconnected;
    expect(stoppedWithin).toBeLessThan(3_000);
    await new Promise((resolve) => setTimeout(resolve, 10 * TOKEN_LATENCY_MS));
    const later = await workloadCounters(api, id);
    expect(later.generation_tokens).toBe(now.generation_tokens);
    expect(later.generation_tokens - before.generation_tokens).toBeLessThan(tokens / 5);
    // Not a finished request: vLLM records an abort as no success of any reason.
    expect(later.e2e).toBe(before.e2e);
  });

  it('every answer carries the overhead header, errors and control-plane routes included', async () => {
    const answers: [string, RawAnswer][] = [
      ['GET /v1/models', await rawRequest(url('/v1/models'))],
      ['POST /v1/chat/completions', await post('/v1/chat/completions', chatBody(MODEL, 2, false))],
      [
        'POST /v1/completions',
        await post('/v1/completions', JSON.stringify({ model: MODEL, prompt: 'x', max_tokens: 2 })),
      ],
      ['unknown model', await post('/v1/chat/completions', chatBody('no-such/model', 2, false))],
      ['missing model', await post('/v1/chat/completions', JSON.stringify({ messages: [] }))],
      ['per-service /v1/models', await rawRequest(url(`/api/v1/vllm/${id}/v1/models`))],
      ['prompt', await post(`/api/v1/vllm/${id}/prompt`, JSON.stringify({ prompt: 'x', max_tokens: 2 }))],
      ['vLLM models route', await rawRequest(url(`/api/v1/vllm/${id}/models`))],
      ['metrics route', await rawRequest(url(`/api/v1/vllm/${id}/metrics`))],
      ['service record', await rawRequest(url(`/api/v1/services/${id}`))],
      ['service list', await rawRequest(url('/api/v1/services'))],
    ];
    const headers = Object.fromEntries(
      answers.map(([name, answer]) => [name, answer.headers[OVERHEAD_HEADER]]),
    );
    expect(headers).toEqual(
      Object.fromEntries(answers.map(([name]) => [name, expect.stringMatching(OVERHEAD)])),
    );
    expect(answers.filter(([, answer]) => answer.status >= 500)).toEqual([]);
  });

  it('bad input on /v1 gets an OpenAI-shaped 4xx naming the problem, and never reaches the workload', async () => {
    const logLines = async (): Promise<number> => {
      const { body } = await api<{ logs: string }>(
        'GET',
        `/api/v1/services/${id}/logs?lines=${MAX_LOG_LINES}`,
      );
      return body.logs.split('\n').filter((line) => line.includes('vllm-sim: POST')).length;
    };
    const before = await workloadCounters(api, id);
    const logsBefore = await logLines();
    const valid = chatBody(MODEL, 2, false);
    const perService = `/api/v1/vllm/${id}/v1/chat/completions`;
    const cases: { name: string; answer: RawAnswer; status: number; mentions: RegExp }[] = [];
    const check = async (
      name: string,
      status: number,
      mentions: RegExp,
      path: string,
      body: string | Buffer,
      headers: Record<string, string> = JSON_HEADERS,
    ): Promise<void> => {
      cases.push({
        name,
        status,
        mentions,
        answer: await rawRequest(url(path), { method: 'POST', headers, body }),
      });
    };
    await check('missing model', 400, /model/i, '/v1/chat/completions', JSON.stringify({ messages: [] }));
    await check('model not a string', 400, /model/i, '/v1/chat/completions', JSON.stringify({ model: 42 }));
    await check('not JSON', 400, /json/i, '/v1/chat/completions', valid.slice(0, 30));
    await check('JSON but not an object', 400, /model|object/i, '/v1/chat/completions', '[1, 2]');
    await check('wrong content type', 415, /content.type|json/i, '/v1/chat/completions', valid, {
      'content-type': 'text/plain',
    });
    await check('unknown model', 404, /no-such\/model/, '/v1/chat/completions', chatBody('no-such/model', 2));
    await check(
      'too large',
      413,
      /large|limit|size/i,
      '/v1/chat/completions',
      Buffer.alloc(1024 * 1024 + 1024, 0x20),
    );
    await check('per-service, not JSON', 400, /json/i, perService, '{"model":');
    await check('per-service, wrong content type', 415, /content.type|json/i, perService, valid, {
      'content-type': 'application/x-www-form-urlencoded',
    });

    for (const { name, answer, status, mentions } of cases) {
      expect({ name, status: answer.status, body: answer.text.slice(0, 300) }).toMatchObject({
        name,
        status,
      });
      expect({ name, error: openAIError(answer.text, mentions) }).toEqual({
        name,
        error: { message: true, type: true, keys: ['error', 'error.code', 'error.message', 'error.type'] },
      });
      expect({ name, overhead: answer.headers[OVERHEAD_HEADER] }).toEqual({
        name,
        overhead: expect.stringMatching(OVERHEAD),
      });
    }
    expect(await workloadCounters(api, id)).toEqual(before);
    // The simulator logs every request it receives: none of these.
    expect(await logLines()).toBe(logsBefore);
  });

  // Last: it kills the victim's workload (its own service, so the others stay usable in any order).
  it('a workload that dies mid-stream ends the stream with exactly one error event, then a clean end', async () => {
    const { body } = await api<{ endpoint: string }>('GET', `/api/v1/services/${victimId}`);
    const pid = simulatorPid(body.endpoint);
    let killed = false;
    const answer = await post('/v1/chat/completions', chatBody(VICTIM_MODEL, 1_000), {
      onRead: (reads) => {
        if (!killed && reads.length >= 5) {
          killed = true;
          process.kill(pid, 'SIGKILL');
        }
      },
    });
    expect(answer.status).toBe(200);
    expect(killed).toBe(true);
    expect({ complete: answer.complete, error: answer.error }).toEqual({ complete: true, error: undefined });
    const data = sseData(answer.text);
    const errors = data.filter((payload) => payload.startsWith('{"error"'));
    expect(errors).toHaveLength(1);
    expect(openAIError(errors[0] ?? '{}', /./)).toEqual({
      message: true,
      type: true,
      keys: ['error', 'error.code', 'error.message', 'error.type'],
    });
    // The error event is the last thing said (a closing [DONE] after it is tolerated).
    const after = data.slice(data.indexOf(errors[0] ?? '') + 1);
    expect(after.filter((payload) => payload !== '[DONE]')).toEqual([]);
    // Far fewer chunks than asked for: the answer really was cut by the failure.
    expect(data.length).toBeLessThan(500);
  });
});
