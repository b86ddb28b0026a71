import * as http from 'node:http';
import * as net from 'node:net';
import { CONTROL_BODY_LIMIT } from '@aiplane/contracts';
import { startGateway, type RunningGateway } from './testing/gateway-harness';
import { StandInOrchestrator } from './testing/stand-in-orchestrator';

// Issue 10, items 5 and 7: the real gateway app, a stand-in in the orchestrator's and the proxy's
// place. DNS rebinding: a page whose name was re-pointed at 127.0.0.1 sends its own name as Host.
const PATHS: [method: string, path: string][] = [
  ['GET', '/api/v1/services'],
  ['POST', '/api/v1/services'],
  ['GET', '/health'],
  ['POST', '/v1/chat/completions'],
  ['GET', '/v1/models'],
  ['PUT', '/api/v1/vector-db/9/qdrant/collections/docs/points'],
  ['GET', '/docs'],
  ['GET', '/docs-json'],
  ['GET', '/no/such/path'],
];

interface Answer {
  status: number;
  body: string;
}

function send(
  url: string,
  method: string,
  path: string,
  host: string | undefined,
  body?: string,
  connection: { agent?: http.Agent; onSocket?: (socket: net.Socket) => void } = {},
): Promise<Answer> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: Number(port),
      method,
      path,
      setHost: false,
      ...(connection.agent ? { agent: connection.agent } : {}),
      headers: {
        ...(host === undefined ? {} : { host }),
        ...(body === undefined
          ? {}
          : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
      },
    });
    if (connection.onSocket) req.on('socket', connection.onSocket);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** An HTTP/1.0 request with no Host at all (HTTP/1.1 without one is refused by node:http itself). */
function sendWithoutHost(url: string, path: string): Promise<Answer> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    let data = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`GET ${path} HTTP/1.0\r\n\r\n`));
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('end', () => {
      resolve({ status: Number(data.slice(9, 12)), body: data.slice(data.indexOf('\r\n\r\n') + 4) });
    });
    socket.on('error', reject);
  });
}

describe('the gateway’s edge (real app, stand-in upstreams)', () => {
  const upstream = new StandInOrchestrator();
  let gateway: RunningGateway;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway({
      ORCHESTRATOR_URL: upstream.url,
      PROXY_URL: upstream.url,
      GATEWAY_ALLOWED_HOSTS: 'gateway.lan',
    });
  });

  afterAll(async () => {
    await gateway.close();
    await upstream.close();
  });

  beforeEach(() => {
    upstream.reset();
  });

  it.each(PATHS)(
    '%s %s for a rebound name → 421 naming the host, nothing forwarded',
    async (method, path) => {
      const body = method === 'GET' ? undefined : '{"model":"m"}';
      for (const host of [
        'evil.example',
        'evil.example:8001',
        'localhost.evil.example',
        '127.0.0.1.nip.io:80',
      ]) {
        const answer = await send(gateway.url, method, path, host, body);
        expect(answer.status).toBe(421);
        const name = host.replace(/:\d+$/, '');
        expect(answer.body).toContain(`does not answer requests for the host \\"${name}\\"`);
      }
      expect(upstream.forwarded()).toEqual([]);
    },
  );

  it.each(PATHS)('%s %s without a Host → 421', async (_method, path) => {
    const answer = await sendWithoutHost(gateway.url, path);
    expect(answer.status).toBe(421);
    expect(answer.body).toContain('no valid Host header');
    expect(upstream.forwarded()).toEqual([]);
  });

  it('answers OpenAI clients in OpenAI’s error shape', async () => {
    const answer = await send(gateway.url, 'POST', '/v1/chat/completions', 'evil.example', '{}');
    expect(JSON.parse(answer.body)).toMatchObject({
      error: { type: 'invalid_request_error', code: 'host_not_allowed' },
    });
  });

  it.each(['localhost:8001', 'LOCALHOST', '127.0.0.1', '127.0.0.1:65535', '[::1]:8001', 'gateway.lan:8001'])(
    'serves Host %s',
    async (host) => {
      expect((await send(gateway.url, 'GET', '/docs', host)).status).toBe(200);
      expect((await send(gateway.url, 'GET', '/api/v1/services', host)).status).toBe(200);
      expect((await send(gateway.url, 'GET', '/v1/models', host)).status).toBe(200);
    },
  );

  it('refuses a create body over 1 MiB with 413 before reading it, forwarding nothing', async () => {
    const body = `{"recipe_name":"x","pad":"${'x'.repeat(CONTROL_BODY_LIMIT)}"}`;
    const answer = await send(gateway.url, 'POST', '/api/v1/services', '127.0.0.1', body);
    expect(answer.status).toBe(413);
    expect(answer.body).toContain(`larger than the ${String(CONTROL_BODY_LIMIT)} byte limit`);
    expect(upstream.forwarded()).toEqual([]);
  });

  it('lets a client that uploads a whole 33 MiB create read its 413, not a reset connection', async () => {
    const body = `{"recipe_name":"x","pad":"${' '.repeat(33 * 1024 * 1024)}"}`;
    const answer = await send(gateway.url, 'POST', '/api/v1/services', '127.0.0.1', body);
    expect(answer.status).toBe(413);
    expect(upstream.forwarded()).toEqual([]);
  });

  it.each([
    ['POST', '/v1/chat/completions'],
    ['PUT', '/api/v1/vector-db/9/qdrant/collections/docs/points'],
  ])(
    'reads a whole 33 MiB %s %s upload after its 413, then serves the next request on the same connection',
    async (method, path) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const sockets = new Set<net.Socket>();
      const ask = (verb: string, target: string, body?: string): Promise<Answer> =>
        send(gateway.url, verb, target, '127.0.0.1', body, {
          agent,
          onSocket: (socket) => sockets.add(socket),
        });
      try {
        const oversized = `{"model":"m","pad":"${' '.repeat(33 * 1024 * 1024)}"}`;
        expect((await ask(method, path, oversized)).status).toBe(413);
        expect((await ask('GET', '/api/v1/services')).status).toBe(200);
        expect(sockets.size).toBe(1);
        expect(upstream.forwarded().filter((request) => request.method !== 'GET')).toEqual([]);
      } finally {
        agent.destroy();
      }
    },
  );
});
