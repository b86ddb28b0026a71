import { infraRedisUrl } from '@aiplane/testing';
import * as net from 'node:net';
import type { Redis } from 'ioredis';
import { CONTROL_BODY_LIMIT } from '@aiplane/contracts';
import { createRedis } from '@aiplane/registry';
import { startOrchestrator, type RunningOrchestrator } from '../testing/orchestrator.harness';
import { StandInProxy } from '../testing/stand-in-proxy';

// Issue 10, item 5: the token and the body limit are checked before a byte of the body is read.
const REDIS_URL = infraRedisUrl();
const prefix = `int-orch-gate-${process.pid}`;
const TOKEN = 'orchestrator-token-0123456789abcdef0123';
const TWENTY_MB = 20 * 1000 * 1000;

interface RawAnswer {
  status: number;
  head: string;
  body: string;
  ms: number;
}

/**
 * Sends the head of a request and only `sent` bytes of its body, then waits for the answer. A
 * server that parsed the body would wait for the rest, so an answer proves it was never read.
 */
function rawRequest(hostPort: string, head: string, sent: string): Promise<RawAnswer> {
  const [host, port] = hostPort.split(':');
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), host ?? '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within 5 s; got ${JSON.stringify(data)}`));
    }, 5_000);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${head}\r\n\r\n${sent}`));
    socket.on('data', (chunk: string) => {
      data += chunk;
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(data.slice(0, end))?.[1] ?? '-1');
      if (data.length - end - 4 < length) return;
      clearTimeout(timer);
      socket.destroy();
      resolve({
        status: Number(data.slice(9, 12)),
        head: data.slice(0, end),
        body: data.slice(end + 4),
        ms: performance.now() - started,
      });
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function createHead(
  hostPort: string,
  length: number,
  authorization?: string,
  path = '/api/services/start',
): string {
  return [
    `POST ${path} HTTP/1.1`,
    `Host: ${hostPort}`,
    'Content-Type: application/json',
    `Content-Length: ${String(length)}`,
    ...(authorization === undefined ? [] : [`Authorization: ${authorization}`]),
  ].join('\r\n');
}

describe('the orchestrator’s edge: token and body limit before the body (real app, real Redis)', () => {
  const proxy = new StandInProxy();
  let orchestrator: RunningOrchestrator;
  let redis: Redis;

  beforeAll(async () => {
    redis = createRedis(REDIS_URL);
    await proxy.start();
    orchestrator = await startOrchestrator(
      { REDIS_URL, REDIS_PREFIX: prefix, ORCHESTRATOR_TOKEN: TOKEN, PROXY_URL: proxy.url },
      { guard: true },
    );
  });

  afterAll(async () => {
    await orchestrator.close();
    await proxy.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('refuses a 20 MB create without the token at once, with 401, never reading the body', async () => {
    const answer = await rawRequest(
      orchestrator.hostPort,
      createHead(orchestrator.hostPort, TWENTY_MB),
      '{"re',
    );
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({
      statusCode: 401,
      message: 'A valid "Authorization: Bearer <token>" header is required',
    });
    expect(answer.head).toMatch(/\r\nconnection: close/i);
  });

  it('refuses a 20 MB create with the token with 413 from its declared length, never reading it', async () => {
    const answer = await rawRequest(
      orchestrator.hostPort,
      createHead(orchestrator.hostPort, TWENTY_MB, `Bearer ${TOKEN}`),
      '{"recipe_name":',
    );
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({
      success: false,
      statusCode: 413,
      message: `Request body is larger than the ${String(CONTROL_BODY_LIMIT)} byte limit of this route`,
    });
  });

  it('answers a whole 20 MB create body with 413 in well under a second, with no heap to speak of', async () => {
    const body = `{"recipe_name":"vector-db/qdrant","config":{"environment":{"A":"${'x'.repeat(TWENTY_MB)}"}}}`;
    const heapBefore = process.memoryUsage().heapUsed;
    const started = performance.now();
    const res = await fetch(`${orchestrator.api}/services/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body,
    });
    const ms = performance.now() - started;
    // The refused body is dropped as it arrives, so the client reads its answer, never a reset.
    expect(res.status).toBe(413);
    expect(ms).toBeLessThan(1_000);
    // The orchestrator runs in this process: a parsed 20 MB body would cost far more than the upload.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(80 * 1024 * 1024);
    expect(await redis.keys(`${prefix}:submission:*`)).toEqual([]);
  });

  it('counts a chunked control-plane body as it arrives: past 1 MiB is 413', async () => {
    const big = `{"recipe_name":"vector-db/qdrant","name":"${'x'.repeat(CONTROL_BODY_LIMIT)}"}`;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const res = await fetch(`${orchestrator.api}/services/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { message: string }).message).toMatch(/larger than the 1048576 byte limit/);
  });

  it('takes a body just under 1 MiB to validation (400 for its content, not 413)', async () => {
    const padding = 'x'.repeat(CONTROL_BODY_LIMIT - 200);
    const res = await fetch(`${orchestrator.api}/services/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ recipe_name: 'vector-db/qdrant', unknown_field: padding }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/unknown_field/);
  });

  it('lets a 2 MB vector upsert through the limit of its route (32 MiB) to the proxy', async () => {
    const answer = await rawRequest(
      orchestrator.hostPort,
      createHead(
        orchestrator.hostPort,
        2_000_000,
        `Bearer ${TOKEN}`,
        '/api/services/vector-db/9/qdrant/collections/docs/points',
      ).replace('POST', 'PUT'),
      `{"points":[],"pad":"${'x'.repeat(2_000_000 - 22)}"}`,
    );
    expect(answer.status).toBe(200);
  });
});
