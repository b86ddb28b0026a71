import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { poissonArrivals } from './arrival.schedule';
import { parseBenchOptions, type BenchOptionsInput } from './bench.schema';
import { runBench } from './bench.runner';
import type { BenchProgress } from './bench.types';

/** How the stand-in server answers; each test sets the one it needs. */
interface Behaviour {
  ttftMs: number;
  tokenMs: number;
  tokensPerChunk: number;
  usagePerChunk: boolean;
  fault?: 'http500' | 'error-event' | 'no-done' | 'not-sse';
}

interface Seen {
  path: string;
  body: Record<string, unknown>;
}

// A tiny OpenAI-style server pacing its SSE on a fixed schedule from the request's arrival (chunk k
// at ttft + k × chunk time), so the figures the runner reports have known true values.
let behaviour: Behaviour = { ttftMs: 0, tokenMs: 0, tokensPerChunk: 1, usagePerChunk: true };
const seen: Seen[] = [];
let server: Server;
let url = '';

async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const arrived = performance.now();
  // A client that leaves ends the pacing too, so no timer outlives the suite.
  const gone = new AbortController();
  res.on('close', () => {
    gone.abort();
  });
  let raw = '';
  for await (const chunk of req) raw += String(chunk);
  const body = JSON.parse(raw) as Record<string, unknown>;
  seen.push({ path: req.url ?? '', body });
  const b = behaviour;
  if (b.fault === 'http500') {
    res
      .writeHead(500, { 'content-type': 'application/json' })
      .end('{"error":{"message":"engine overloaded"}}');
    return;
  }
  if (b.fault === 'not-sse') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"choices":[]}');
    return;
  }
  const chat = req.url?.endsWith('/chat/completions') === true;
  const tokens = Number(body.max_tokens);
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.flushHeaders();
  const send = (payload: unknown): void => {
    res.write(`data: ${JSON.stringify(payload)}\n\n`);
  };
  const choice = (text: string): unknown =>
    chat ? { index: 0, delta: { content: text } } : { index: 0, text };
  if (chat) send({ choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] });
  let produced = 0;
  for (let chunk = 0; produced < tokens; chunk++) {
    const wait = arrived + b.ttftMs + chunk * b.tokenMs * b.tokensPerChunk - performance.now();
    if (wait > 0) await sleep(wait, undefined, { signal: gone.signal }).catch(() => undefined);
    if (gone.signal.aborted) return;
    const count = Math.min(b.tokensPerChunk, tokens - produced);
    produced += count;
    send({
      choices: [choice('w '.repeat(count))],
      ...(b.usagePerChunk ? { usage: { prompt_tokens: 5, completion_tokens: produced } } : {}),
    });
    if (b.fault === 'error-event' && produced >= 3) {
      res.end('data: {"error":{"message":"replica went away","code":502}}\n\n');
      return;
    }
  }
  send({ choices: [], usage: { prompt_tokens: 5, completion_tokens: produced } });
  res.end(b.fault === 'no-done' ? '' : 'data: [DONE]\n\n');
}

beforeAll(async () => {
  server = createServer((req, res) => {
    void answer(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen.length = 0;
});

const options = (input: Omit<BenchOptionsInput, 'url'>) => parseBenchOptions({ url, ...input });

describe('runBench against a paced SSE server', () => {
  it('times TTFT, per-token ITL (a 2-token chunk gap halved by its usage growth) and E2E in a closed loop', async () => {
    behaviour = { ttftMs: 40, tokenMs: 10, tokensPerChunk: 2, usagePerChunk: true };
    const progress: BenchProgress[] = [];
    const report = await runBench(
      options({ serviceId: '42', concurrency: 2, requests: 6, promptTokens: 64, outputTokens: 8 }),
      { onProgress: (p) => progress.push(p) },
    );

    expect(report.requests).toEqual({ sent: 6, succeeded: 6, failed: 0, aborted: 0 });
    expect(report.endpoint).toBe(`${url}/api/v1/vllm/42/v1/chat/completions`);
    expect(report.outputTokens).toMatchObject({ total: 48, notAsRequested: 0 });
    expect(report.itlMethod).toBe('per-chunk usage');
    // 8 tokens in 4 chunks: the first chunk's 2 tokens have no gap, the other 6 one each.
    expect(report.itlMs?.count).toBe(36);
    // The server sends nothing early, so its values are floors; the ceilings only tell a figure apart
    // from a wrong one (ITL undivided would be 20) on a machine busy with other test runs.
    expect(report.ttftMs?.p50).toBeGreaterThanOrEqual(39);
    expect(report.ttftMs?.p50).toBeLessThan(40 + 200);
    expect(report.itlMs?.p50).toBeGreaterThanOrEqual(7);
    expect(report.itlMs?.p50).toBeLessThan(10 + 15);
    expect(report.e2eMs?.p50).toBeGreaterThanOrEqual(99);
    expect(report.e2eMs?.p50).toBeLessThan(100 + 200);
    expect(report.throughput.requestsPerSecond).toBeGreaterThan(0);
    expect(progress.map((p) => p.sent)).toHaveLength(6);
    expect(progress[progress.length - 1]).toMatchObject({
      phase: 'measure',
      succeeded: 6,
      failed: 0,
      inFlight: 0,
    });

    const first = seen[0];
    expect(first?.path).toBe('/api/v1/vllm/42/v1/chat/completions');
    expect(first?.body).toMatchObject({
      max_tokens: 8,
      stream: true,
      stream_options: { include_usage: true, continuous_usage_stats: true },
      ignore_eos: true,
    });
    expect(first?.body).not.toHaveProperty('model');
    const messages = first?.body.messages as { role: string; content: string }[];
    expect(messages).toHaveLength(1);
    expect(messages[0]?.content.split(' ')).toHaveLength(64);
    expect(new Set(seen.map((s) => JSON.stringify(s.body.messages))).size).toBe(6);
  });

  it('without per-chunk usage counts one token per chunk: a 2-token chunk gap is one ITL sample', async () => {
    behaviour = { ttftMs: 30, tokenMs: 10, tokensPerChunk: 2, usagePerChunk: false };
    const report = await runBench(
      options({ model: 'm', api: 'completions', requests: 2, outputTokens: 8, vllmExtensions: false }),
    );
    expect(report.endpoint).toBe(`${url}/v1/completions`);
    expect(seen[0]?.body).toMatchObject({ model: 'm', stream_options: { include_usage: true } });
    expect(seen[0]?.body).not.toHaveProperty('ignore_eos');
    expect(seen[0]?.body.stream_options).not.toHaveProperty('continuous_usage_stats');
    expect(typeof seen[0]?.body.prompt).toBe('string');
    expect(report.itlMethod).toBe('chunk gaps');
    // The final usage still gives the output length.
    expect(report.outputTokens.total).toBe(16);
    expect(report.itlMs?.count).toBe(6);
    // The whole 20 ms gap of each 2-token chunk, not 10 ms per token.
    expect(report.itlMs?.p50).toBeGreaterThanOrEqual(14);
    expect(report.itlMs?.p50).toBeLessThan(20 + 20);
  });

  it.each([
    ['http500', 'HTTP 500: engine overloaded'],
    ['error-event', 'the stream ended with an error: replica went away'],
    ['no-done', 'the stream ended without [DONE] after 4 content chunks'],
    ['not-sse', 'the answer is not an event stream (content-type application/json)'],
  ] as const)(
    'counts a %s answer as an error with its message, out of every latency',
    async (fault, message) => {
      behaviour = { ttftMs: 0, tokenMs: 0, tokensPerChunk: 1, usagePerChunk: true, fault };
      const report = await runBench(options({ serviceId: '42', requests: 3, outputTokens: 4 }));
      expect(report.requests).toEqual({ sent: 3, succeeded: 0, failed: 3, aborted: 0 });
      expect(report.errors).toEqual({ count: 3, distinct: [{ message, count: 3 }] });
      expect([report.ttftMs, report.itlMs, report.e2eMs]).toEqual([undefined, undefined, undefined]);
      expect(report.throughput).toEqual({ requestsPerSecond: 0, outputTokensPerSecond: 0 });
    },
  );

  it('reports an unreachable gateway as an error naming the connection failure', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const report = await runBench(
      parseBenchOptions({ url: `http://127.0.0.1:${String(port)}`, model: 'm', requests: 1 }),
    );
    expect(report.errors.distinct).toEqual([
      { message: expect.stringMatching(/^cannot reach the gateway \(ECONNREFUSED/) as unknown, count: 1 },
    ]);
  });

  it('sends the warm-up first and leaves it out of the report', async () => {
    behaviour = { ttftMs: 0, tokenMs: 0, tokensPerChunk: 1, usagePerChunk: true };
    const report = await runBench(options({ serviceId: '42', warmup: 3, requests: 4, outputTokens: 2 }));
    expect(seen).toHaveLength(7);
    expect(report.warmup).toEqual({ requests: 3, failed: 0 });
    expect(report.requests.sent).toBe(4);
    expect(report.ttftMs?.count).toBe(4);
  });

  it('sends a dataset in turn, conversations as they are and prompts as a user message', async () => {
    behaviour = { ttftMs: 0, tokenMs: 0, tokensPerChunk: 1, usagePerChunk: true };
    const dir = mkdtempSync(join(tmpdir(), 'loadgen-runner-'));
    try {
      const file = join(dir, 'd.jsonl');
      writeFileSync(
        file,
        '{"prompt": "one"}\n{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "two"}]}\n',
      );
      const report = await runBench(
        options({ serviceId: '42', dataset: file, requests: 3, outputTokens: 2 }),
      );
      expect(report.workload.dataset).toEqual({ path: file, entries: 2 });
      expect(seen.map((s) => s.body.messages)).toEqual([
        [{ role: 'user', content: 'one' }],
        [
          { role: 'system', content: 's' },
          { role: 'user', content: 'two' },
        ],
        [{ role: 'user', content: 'one' }],
      ]);
      await expect(runBench(options({ serviceId: '42', dataset: join(dir, 'none.jsonl') }))).rejects.toThrow(
        /none\.jsonl: no such file/,
      );
      expect(seen).toHaveLength(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs an open loop on the seeded Poisson schedule and reports offered, scheduled and achieved rates', async () => {
    behaviour = { ttftMs: 0, tokenMs: 0, tokensPerChunk: 1, usagePerChunk: true };
    const report = await runBench(
      options({ serviceId: '42', rate: 100, requests: 30, seed: 9, outputTokens: 2 }),
    );
    const arrivals = poissonArrivals(100, 9);
    const planned = Array.from({ length: 30 }, () => arrivals.next().value);
    const open = report.openLoop;
    expect(report.load).toEqual({ mode: 'open', rate: 100, maxInFlight: 1000, seed: 9 });
    expect(report.requests.succeeded).toBe(30);
    expect(open?.offeredRate).toBe(100);
    expect(open?.scheduledRate).toBeCloseTo(30 / ((planned[29] ?? 0) / 1_000), 6);
    // Sends leave at or after their arrival, so the achieved rate is at most the scheduled one.
    expect(open?.achievedRate).toBeLessThanOrEqual(open?.scheduledRate ?? 0);
    expect(open?.achievedRate).toBeGreaterThan((open?.scheduledRate ?? 0) * 0.5);
    expect(open?.maxInFlightHits).toBe(0);
  });

  it('holds arrivals at --max-in-flight, counting each hit and dropping none', async () => {
    behaviour = { ttftMs: 30, tokenMs: 0, tokensPerChunk: 1, usagePerChunk: true };
    const report = await runBench(
      options({ serviceId: '42', rate: 1_000, maxInFlight: 2, requests: 8, outputTokens: 1 }),
    );
    expect(report.requests).toEqual({ sent: 8, succeeded: 8, failed: 0, aborted: 0 });
    expect(report.openLoop?.maxInFlightHits).toBeGreaterThanOrEqual(5);
    expect(report.openLoop?.maxInFlightWaitMs).toBeGreaterThan(0);
  });

  it('stops at the signal: what is in flight is aborted, not failed, and the report says interrupted', async () => {
    behaviour = { ttftMs: 5_000, tokenMs: 0, tokensPerChunk: 1, usagePerChunk: true };
    const controller = new AbortController();
    const running = runBench(options({ serviceId: '42', concurrency: 3, duration: '60s' }), {
      signal: controller.signal,
    });
    await sleep(100);
    controller.abort();
    const report = await running;
    expect(report.interrupted).toBe(true);
    expect(report.requests).toEqual({ sent: 3, succeeded: 0, failed: 0, aborted: 3 });
  });
});
