import { Agent, request as httpRequest } from 'node:http';

import { loadSimConfig } from './sim.config';
import { SimServer } from './sim.server';

const MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';
const LABELS = `engine="0",model_name="${MODEL}"`;

const running: SimServer[] = [];

async function start(env: Record<string, string> = {}) {
  const config = loadSimConfig({ VLLM_HOST: '127.0.0.1', VLLM_PORT: '0', ...env });
  const sim = new SimServer(config, { log: () => undefined });
  running.push(sim);
  const address = await sim.listen();
  if (typeof address === 'string') throw new Error('expected a TCP address');
  return { sim, base: `http://127.0.0.1:${address.port}`, port: address.port };
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((sim) => sim.close()));
});

interface Received {
  /** Each network read, as it arrived, with when it arrived (ms since the request was sent). */
  reads: { at: number; text: string }[];
  body: string;
}

/** POSTs over a fresh connection and keeps each read apart, which fetch would not show. */
function stream(port: number, path: string, body: unknown, agent: Agent): Promise<Received> {
  const payload = JSON.stringify(body);
  const sent = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path,
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const reads: Received['reads'] = [];
        res.setEncoding('utf8');
        res.on('data', (text: string) => reads.push({ at: performance.now() - sent, text }));
        res.on('end', () => {
          resolve({ reads, body: reads.map((r) => r.text).join('') });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const dataFrames = (body: string): string[] =>
  body
    .split('\n\n')
    .filter((frame) => frame !== '')
    .map((frame) => frame.slice('data: '.length));

describe('SSE streaming', () => {
  it('writes each token as its own frame when it is produced, 64 streams of 256 tokens at 10 ms', async () => {
    const { port } = await start({ SIM_TOKEN_LATENCY_MS: '10' });
    const agent = new Agent({ keepAlive: false, maxSockets: 64 });
    const began = performance.now();
    const results = await Promise.all(
      Array.from({ length: 64 }, (_, i) =>
        stream(
          port,
          '/v1/completions',
          { prompt: `stream ${i}`, max_tokens: 256, stream: true, stream_options: { include_usage: true } },
          agent,
        ),
      ),
    );
    const elapsed = performance.now() - began;
    agent.destroy();

    // 255 gaps of 10 ms, paced against the clock, not 255 timer overshoots.
    expect(elapsed).toBeGreaterThanOrEqual(2_540);
    expect(elapsed).toBeLessThan(4_500);
    for (const { reads, body } of results) {
      const frames = dataFrames(body);
      // 256 token frames, then the usage frame and [DONE] (written together at the end).
      expect(frames).toHaveLength(258);
      expect(frames.at(-1)).toBe('[DONE]');
      const usage = JSON.parse(frames.at(-2) ?? '') as {
        choices: unknown[];
        usage: { completion_tokens: number };
      };
      expect(usage.choices).toEqual([]);
      expect(usage.usage.completion_tokens).toBe(256);
      // Frames arrive one by one over the 2.5 s, not in bursts: nearly every read carries a single frame.
      const single = reads.filter((r) => dataFrames(r.text).length === 1).length;
      expect(single).toBeGreaterThan(200);
      const lastTokenRead = reads.find((r) => r.text.includes('"finish_reason":"length"'));
      expect((lastTokenRead?.at ?? 0) - (reads[0]?.at ?? 0)).toBeGreaterThan(2_400);
    }
  }, 20_000);

  it('ends chat streams with [DONE] and sends usage only when stream_options asks for it', async () => {
    const { port } = await start();
    const agent = new Agent();
    const chat = { messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, stream: true };
    const plain = dataFrames((await stream(port, '/v1/chat/completions', chat, agent)).body);
    expect(plain.at(-1)).toBe('[DONE]');
    expect(plain.slice(0, -1).some((f) => f.includes('"usage"'))).toBe(false);

    const withUsage = dataFrames(
      (
        await stream(
          port,
          '/v1/chat/completions',
          { ...chat, stream_options: { include_usage: true } },
          agent,
        )
      ).body,
    );
    expect(withUsage.at(-1)).toBe('[DONE]');
    expect(JSON.parse(withUsage.at(-2) ?? '')).toMatchObject({
      object: 'chat.completion.chunk',
      choices: [],
      usage: { completion_tokens: 3 },
    });
    agent.destroy();
  });
});

describe('client disconnects', () => {
  it('stops a non-streamed generation and drops it from the running gauge, as vLLM 0.11 records it', async () => {
    const { port, sim } = await start({ SIM_TOKEN_LATENCY_MS: '20' });
    const payload = JSON.stringify({ prompt: 'a', max_tokens: 500 });
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/v1/completions',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
    });
    req.on('error', () => undefined);
    req.end(payload);
    await waitFor(async () =>
      (await sim.metrics.render()).includes(`vllm:num_requests_running{${LABELS}} 1`),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    req.destroy();
    await waitFor(async () =>
      (await sim.metrics.render()).includes(`vllm:num_requests_running{${LABELS}} 0`),
    );

    const generated = (text: string): number =>
      Number(/vllm:generation_tokens_total\{[^}]*\} (\d+)/.exec(text)?.[1]);
    const atAbort = generated(await sim.metrics.render());
    await new Promise((resolve) => setTimeout(resolve, 200));
    const text = await sim.metrics.render();
    // Generation stopped: no more tokens after the disconnect, far fewer than the 500 asked for.
    expect(generated(text)).toBe(atAbort);
    expect(atAbort).toBeLessThan(50);
    expect(text).toContain(`vllm:time_to_first_token_seconds_count{${LABELS}} 1`);
    expect(text).toContain(`vllm:e2e_request_latency_seconds_count{${LABELS}} 0`);
    expect(text).toContain(
      `vllm:request_success_total{engine="0",finished_reason="abort",model_name="${MODEL}"} 0`,
    );
    expect(text).toContain(
      `vllm:request_success_total{engine="0",finished_reason="length",model_name="${MODEL}"} 0`,
    );
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
