import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { startGateway, type RunningGateway } from '../testing/gateway-harness';
import { closedPort, StandInOrchestrator } from '../testing/stand-in-orchestrator';
import { channelAsSocket } from './ssh-agent';
import { SshTunnel, type SshTunnelOptions } from './ssh-tunnel';

/*
 * Against the real sshd that tools/infra/up.sh starts (127.0.0.1:2222). Nothing here stops or
 * reconfigures it: drops are simulated with a TCP relay the test owns, placed in front of it.
 */

const INFRA_ENV = '/var/tmp/aiplane-infra/env';
const TOKEN = 'int-token-0123456789abcdef0123456789';

interface SshEnv {
  SSH_HOST: string;
  SSH_PORT: string;
  SSH_USER: string;
  SSH_KEY_PATH: string;
  SSH_KNOWN_HOSTS_PATH: string;
}

async function waitForSshEnv(timeoutMs: number): Promise<SshEnv> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (existsSync(INFRA_ENV)) {
      const env = Object.fromEntries(
        (await readFile(INFRA_ENV, 'utf8'))
          .split('\n')
          .map((line) => line.trim())
          .filter((line) => line && !line.startsWith('#') && line.includes('='))
          .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      );
      if (env.SSH_HOST && env.SSH_PORT && env.SSH_USER && env.SSH_KEY_PATH && env.SSH_KNOWN_HOSTS_PATH) {
        return env as unknown as SshEnv;
      }
    }
    if (Date.now() > deadline) {
      throw new Error(`${INFRA_ENV} has no SSH_* settings: run tools/infra/up.sh sshd first`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function tunnelOptions(env: SshEnv, overrides: Partial<SshTunnelOptions> = {}): SshTunnelOptions {
  return {
    host: env.SSH_HOST,
    port: Number(env.SSH_PORT),
    username: env.SSH_USER,
    privateKeyPath: env.SSH_KEY_PATH,
    knownHostsPath: env.SSH_KNOWN_HOSTS_PATH,
    keepaliveIntervalMs: 15_000,
    ...overrides,
  };
}

/** Where the stand-in proxy listens, as the SSH server sees it (this machine): set once it is started. */
let proxyUrl = '';

function gatewayEnv(env: SshEnv, orchestratorUrl: string, overrides: Record<string, string> = {}) {
  return {
    ORCHESTRATOR_URL: orchestratorUrl,
    PROXY_URL: proxyUrl,
    ORCHESTRATOR_TOKEN: TOKEN,
    UPSTREAM_TIMEOUT_MS: '5000',
    ...env,
    ...overrides,
  };
}

/** One HTTP GET over an already-open channel. */
function getOver(channel: Duplex, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      path,
      createConnection: () => channelAsSocket(channel),
      headers: { connection: 'close' },
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** A TCP relay in front of sshd whose connections the test can cut, to simulate network drops. */
class Relay {
  private readonly sockets = new Set<net.Socket>();
  private readonly server: net.Server;
  private holding = false;

  constructor(targetPort: number) {
    this.server = net.createServer((client) => {
      const upstream = net.connect(targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.on('data', (data: Buffer) => {
        if (!this.holding) upstream.write(data);
      });
      upstream.pipe(client);
    });
  }

  /** Swallows what the client sends from now on: a request is in flight when the cut comes. */
  hold(): void {
    this.holding = true;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get connections(): number {
    return this.sockets.size / 2;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  cut(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
  }
}

/** A known_hosts line trusting a freshly made key: valid, but not the server's. */
function wrongKeyLine(hostPattern: string): string {
  const der = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' });
  const field = (data: Buffer): Buffer => Buffer.concat([Buffer.from([0, 0, 0, data.length]), data]);
  const blob = Buffer.concat([field(Buffer.from('ssh-ed25519')), field(der.subarray(der.length - 32))]);
  return `${hostPattern} ssh-ed25519 ${blob.toString('base64')}\n`;
}

/** The shared known_hosts line, re-keyed for another name (the relay's port). */
async function knownHostsFor(env: SshEnv, dir: string, hostPattern: string, file: string): Promise<string> {
  const line = (await readFile(env.SSH_KNOWN_HOSTS_PATH, 'utf8')).split('\n').find((l) => l.trim());
  const [, keyType, key] = (line ?? '').split(/\s+/);
  const path = join(dir, file);
  await writeFile(path, `${hostPattern} ${keyType ?? ''} ${key ?? ''}\n`);
  return path;
}

describe('SSH transport against the real sshd', () => {
  let env: SshEnv;
  let dir: string;
  const orchestrator = new StandInOrchestrator();
  // The same echoing stand-in in the data-plane proxy's place, reached in channels of the same connection.
  const proxy = new StandInOrchestrator();

  beforeAll(async () => {
    env = await waitForSshEnv(50_000);
    dir = await mkdtemp(join(tmpdir(), 'gateway-ssh-'));
    await orchestrator.start();
    await proxy.start();
    proxyUrl = proxy.url;
  }, 60_000);

  afterAll(async () => {
    await orchestrator.close();
    await proxy.close();
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    orchestrator.reset();
    proxy.reset();
  });

  describe('SshTunnel', () => {
    let tunnel: SshTunnel | undefined;

    afterEach(async () => {
      await tunnel?.close();
      tunnel = undefined;
    });

    it('connects on first use and carries HTTP in direct-tcpip channels', async () => {
      tunnel = new SshTunnel(tunnelOptions(env));
      expect(tunnel.state().phase).toBe('idle');
      const answer = await getOver(await tunnel.openChannel('127.0.0.1', orchestrator.port), '/api/services');
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({ method: 'GET', url: '/api/services' });
      expect(tunnel.state()).toMatchObject({ phase: 'connected', last_error: null, failed_attempts: 0 });
    });

    it('carries HTTP to a Unix socket on the SSH server (streamlocal), and names a missing one', async () => {
      tunnel = new SshTunnel(tunnelOptions(env));
      const socketPath = join(dir, 'orchestrator.sock');
      const server = http.createServer((req, res) => {
        res.end(JSON.stringify({ over: 'socket', url: req.url }));
      });
      await new Promise<void>((resolve) => server.listen(socketPath, resolve));
      try {
        const answer = await getOver(await tunnel.openLocalChannel(socketPath), '/api/services');
        expect(answer.status).toBe(200);
        expect(JSON.parse(answer.body)).toEqual({ over: 'socket', url: '/api/services' });
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
      await expect(tunnel.openLocalChannel(join(dir, 'missing.sock'))).rejects.toMatchObject({
        status: 503,
        message: expect.stringContaining(`could not reach ${join(dir, 'missing.sock')}`) as unknown,
      });
    });

    it('reports a target the SSH server cannot reach as unavailable, keeping the connection', async () => {
      tunnel = new SshTunnel(tunnelOptions(env));
      const port = await closedPort();
      await expect(tunnel.openChannel('127.0.0.1', port)).rejects.toMatchObject({
        status: 503,
        message: expect.stringMatching(new RegExp(`could not reach 127\\.0\\.0\\.1:${port}`)) as unknown,
      });
      expect(tunnel.state().phase).toBe('connected');
    });

    it('refuses a server whose host key differs from known_hosts, saying so', async () => {
      const wrong = join(dir, 'wrong_known_hosts');
      await writeFile(wrong, wrongKeyLine(`[${env.SSH_HOST}]:${env.SSH_PORT}`));
      tunnel = new SshTunnel(tunnelOptions(env, { knownHostsPath: wrong }));
      const attempt = tunnel.openChannel('127.0.0.1', orchestrator.port);
      await expect(attempt).rejects.toMatchObject({ status: 503 });
      await attempt.catch((error: unknown) => {
        const message = (error as Error).message;
        expect(message).toMatch(
          new RegExp(`^SSH tunnel to ${env.SSH_HOST}:${env.SSH_PORT} is down: HOST KEY MISMATCH`),
        );
        expect(message).toContain(wrong);
      });
      expect(tunnel.state()).toMatchObject({ phase: 'backoff', failed_attempts: 1 });
    });

    it('refuses a server that known_hosts does not list', async () => {
      const empty = join(dir, 'empty_known_hosts');
      await writeFile(empty, '# nothing trusted\n');
      tunnel = new SshTunnel(tunnelOptions(env, { knownHostsPath: empty }));
      await expect(tunnel.openChannel('127.0.0.1', orchestrator.port)).rejects.toThrow(/no host key for/);
    });

    it('fails fast while down, then reconnects by itself after a drop', async () => {
      const relay = new Relay(Number(env.SSH_PORT));
      await relay.start();
      try {
        const knownHosts = await knownHostsFor(env, dir, `[127.0.0.1]:${relay.port}`, 'relay_known_hosts');
        tunnel = new SshTunnel(
          tunnelOptions(env, {
            host: '127.0.0.1',
            port: relay.port,
            knownHostsPath: knownHosts,
            minBackoffMs: 300,
          }),
        );
        await getOver(await tunnel.openChannel('127.0.0.1', orchestrator.port), '/api/one');
        const firstSince = tunnel.state().connected_since;

        relay.cut();
        for (let i = 0; i < 50 && tunnel.state().phase === 'connected'; i += 1) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expect(tunnel.state().phase).toBe('backoff');
        const started = Date.now();
        await expect(tunnel.openChannel('127.0.0.1', orchestrator.port)).rejects.toThrow(
          new RegExp(`^SSH tunnel to 127\\.0\\.0\\.1:${relay.port} is down: `),
        );
        expect(Date.now() - started).toBeLessThan(50);

        for (let i = 0; i < 100 && tunnel.state().phase !== 'connected'; i += 1) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        expect(tunnel.state().phase).toBe('connected');
        expect(tunnel.state().connected_since).not.toBe(firstSince);
        const answer = await getOver(await tunnel.openChannel('127.0.0.1', orchestrator.port), '/api/two');
        expect(answer.status).toBe(200);
      } finally {
        await tunnel?.close();
        await relay.close();
      }
    });

    it('is closed for good after close()', async () => {
      tunnel = new SshTunnel(tunnelOptions(env));
      await tunnel.openChannel('127.0.0.1', orchestrator.port).then((channel) => channel.destroy());
      await tunnel.close();
      expect(tunnel.state().phase).toBe('closed');
      await expect(tunnel.openChannel('127.0.0.1', orchestrator.port)).rejects.toThrow(/is closed/);
    });
  });

  describe('gateway in SSH mode', () => {
    let gateway: RunningGateway;

    beforeAll(async () => {
      gateway = await startGateway(gatewayEnv(env, orchestrator.url));
    });

    afterAll(async () => {
      await gateway.close();
    });

    it('forwards requests through the tunnel with token, request id and body', async () => {
      const res = await fetch(`${gateway.url}/api/v1/services`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'ssh-req-1' },
        body: JSON.stringify({ recipe_name: 'inference/vllm-single-node' }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-request-id')).toBe('ssh-req-1');
      expect(await res.json()).toEqual({
        method: 'POST',
        url: '/api/services/start',
        body: { recipe_name: 'inference/vllm-single-node' },
      });
      const [upstream] = orchestrator.forwarded();
      expect(upstream?.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(upstream?.headers['x-request-id']).toBe('ssh-req-1');
    });

    it('streams the data plane to the proxy in a direct-tcpip channel of the same connection, chunk by chunk', async () => {
      await fetch(`${gateway.url}/api/v1/services`).then((res) => res.arrayBuffer());
      const before = (await (await fetch(`${gateway.url}/health`)).json()) as {
        transport: { connected_since: string };
      };
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      proxy.handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'x-aiplane-workload-ms': '1.0' });
        res.write('data: {"n":1}\n\n');
        void held.then(() => res.end('data: {"n":2}\n\ndata: [DONE]\n\n'));
      };
      const body = '{"model":"m", "stream":true, "messages":[]}';
      const res = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-request-id': 'ssh-sse-1',
          authorization: 'Bearer sk-x',
        },
        body,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-aiplane-overhead-ms')).toMatch(/^\d+\.\d$/);
      const reader = res.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
      const decoder = new TextDecoder();
      // The first event came through the channel while the proxy still held the rest back.
      expect(decoder.decode((await reader.read()).value)).toBe('data: {"n":1}\n\n');
      release();
      let rest = '';
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        rest += decoder.decode(chunk.value);
      }
      expect(rest).toBe('data: {"n":2}\n\ndata: [DONE]\n\n');
      expect(orchestrator.forwarded()).toHaveLength(1);
      const [upstream] = proxy.forwarded();
      expect(upstream).toMatchObject({ method: 'POST', url: '/v1/chat/completions', body });
      expect(upstream?.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(upstream?.headers['x-request-id']).toBe('ssh-sse-1');
      // One SSH connection carried both planes.
      const after = (await (await fetch(`${gateway.url}/health`)).json()) as {
        transport: { connected_since: string; phase: string };
      };
      expect(after.transport).toMatchObject({
        phase: 'connected',
        connected_since: before.transport.connected_since,
      });
    });

    it('serves 50 sequential requests over one SSH connection and one reused channel, quickly', async () => {
      await fetch(`${gateway.url}/api/v1/services`).then((res) => res.arrayBuffer());
      const before = (await (await fetch(`${gateway.url}/health`)).json()) as {
        transport: { connected_since: string };
      };
      const connectionsBefore = orchestrator.connections;
      const timings: number[] = [];
      for (let i = 0; i < 50; i += 1) {
        const started = performance.now();
        const res = await fetch(`${gateway.url}/api/v1/services/${i + 1}`);
        await res.arrayBuffer();
        timings.push(performance.now() - started);
        expect(res.status).toBe(200);
      }
      const sorted = [...timings].sort((a, b) => a - b);
      const p50 = sorted[24] ?? Infinity;
      const p90 = sorted[44] ?? Infinity;
      process.stdout.write(
        `gateway over SSH, 50 sequential requests: p50 ${p50.toFixed(2)} ms, p90 ${p90.toFixed(2)} ms, ` +
          `max ${(sorted[49] ?? Infinity).toFixed(2)} ms\n`,
      );
      // About a millisecond on an idle machine; a Nagle stall (setNoDelay missing) costs 40 ms each.
      expect(p50).toBeLessThan(35);
      // The channel opened by the warm-up request carried all 50: no new connection reached the orchestrator.
      expect(orchestrator.connections - connectionsBefore).toBe(0);
      const health = (await (await fetch(`${gateway.url}/health`)).json()) as {
        status: string;
        transport: { mode: string; phase: string; connected_since: string; failed_attempts: number };
      };
      expect(health.status).toBe('healthy');
      expect(health.transport).toMatchObject({ mode: 'ssh', phase: 'connected', failed_attempts: 0 });
      expect(health.transport.connected_since).toBe(before.transport.connected_since);
    });

    it('answers 503 naming the tunnel when the connection drops under a request on a pooled channel', async () => {
      const relay = new Relay(Number(env.SSH_PORT));
      await relay.start();
      const knownHosts = await knownHostsFor(env, dir, `[127.0.0.1]:${relay.port}`, 'pooled_known_hosts');
      const viaRelay = await startGateway(
        gatewayEnv(env, orchestrator.url, {
          SSH_HOST: '127.0.0.1',
          SSH_PORT: String(relay.port),
          SSH_KNOWN_HOSTS_PATH: knownHosts,
        }),
      );
      try {
        // Leaves an idle channel in the agent's pool, which the next request takes.
        expect((await fetch(`${viaRelay.url}/api/v1/services`)).status).toBe(200);
        relay.hold();
        const inFlight = fetch(`${viaRelay.url}/api/v1/services`);
        await new Promise((resolve) => setTimeout(resolve, 200));
        relay.cut();
        const res = await inFlight;
        expect(res.status).toBe(503);
        expect(((await res.json()) as { message: string }).message).toMatch(
          new RegExp(`SSH tunnel to 127\\.0\\.0\\.1:${relay.port} dropped during the request`),
        );
      } finally {
        await viaRelay.close();
        await relay.close();
      }
    });

    it('names the tunnel in every answer while connections drop under traffic, 10 times', async () => {
      const relay = new Relay(Number(env.SSH_PORT));
      await relay.start();
      const knownHosts = await knownHostsFor(env, dir, `[127.0.0.1]:${relay.port}`, 'drops_known_hosts');
      const viaRelay = await startGateway(
        gatewayEnv(env, orchestrator.url, {
          SSH_HOST: '127.0.0.1',
          SSH_PORT: String(relay.port),
          SSH_KNOWN_HOSTS_PATH: knownHosts,
        }),
      );
      const get = async (): Promise<{ status: number; message: string }> => {
        const res = await fetch(`${viaRelay.url}/api/v1/services`);
        const body = (await res.json()) as { message?: string };
        return { status: res.status, message: body.message ?? '' };
      };
      const unexplained: string[] = [];
      try {
        for (let round = 0; round < 10; round += 1) {
          while ((await get()).status !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
          // Several channels in the pool, and requests in flight when the cut comes.
          await Promise.all([get(), get(), get()]);
          const during = Promise.all([get(), get(), get()]);
          relay.cut();
          const after: { status: number; message: string }[] = [];
          for (let i = 0; i < 5; i += 1) after.push(await get());
          for (const answer of [...(await during), ...after]) {
            if (answer.status !== 200 && !/SSH tunnel/.test(answer.message)) {
              unexplained.push(`round ${round}: ${answer.status} ${answer.message}`);
            }
          }
        }
      } finally {
        await viaRelay.close();
        await relay.close();
      }
      expect(unexplained).toEqual([]);
    });

    it('answers a data-plane request 503 naming the tunnel when the connection drops under it', async () => {
      const relay = new Relay(Number(env.SSH_PORT));
      await relay.start();
      const knownHosts = await knownHostsFor(env, dir, `[127.0.0.1]:${relay.port}`, 'data_known_hosts');
      const viaRelay = await startGateway(
        gatewayEnv(env, orchestrator.url, {
          SSH_HOST: '127.0.0.1',
          SSH_PORT: String(relay.port),
          SSH_KNOWN_HOSTS_PATH: knownHosts,
        }),
      );
      try {
        // Leaves an idle channel to the proxy in the agent's pool, which the next request takes.
        expect((await fetch(`${viaRelay.url}/v1/models`)).status).toBe(200);
        relay.hold();
        const inFlight = fetch(`${viaRelay.url}/v1/models`);
        await new Promise((resolve) => setTimeout(resolve, 200));
        relay.cut();
        const res = await inFlight;
        expect(res.status).toBe(503);
        expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
          new RegExp(
            `^The data-plane proxy is unreachable: SSH tunnel to 127\\.0\\.0\\.1:${relay.port} (dropped|is down)`,
          ),
        );
      } finally {
        await viaRelay.close();
        await relay.close();
      }
    });

    it('answers a data-plane request 503 naming the target when the proxy is down behind a healthy tunnel', async () => {
      const down = await startGateway(
        gatewayEnv(env, orchestrator.url, { PROXY_URL: `http://127.0.0.1:${await closedPort()}` }),
      );
      try {
        const res = await fetch(`${down.url}/api/v1/vllm/7/models`);
        expect(res.status).toBe(503);
        expect(((await res.json()) as { message: string }).message).toMatch(
          /^The data-plane proxy is unreachable: SSH tunnel to .* could not reach 127\.0\.0\.1:\d+/,
        );
      } finally {
        await down.close();
      }
    });

    it('answers 503 naming the target when the orchestrator is down behind a healthy tunnel', async () => {
      const down = await startGateway(gatewayEnv(env, `http://127.0.0.1:${await closedPort()}`));
      try {
        const res = await fetch(`${down.url}/api/v1/services`);
        expect(res.status).toBe(503);
        expect(((await res.json()) as { message: string }).message).toMatch(
          /could not reach 127\.0\.0\.1:\d+/,
        );
        expect((await fetch(`${down.url}/ready`)).status).toBe(503);
      } finally {
        await down.close();
      }
    });
  });

  describe('gateway when sshd cannot be reached', () => {
    it('answers 503 fast, first and every later request', async () => {
      const port = await closedPort();
      const gateway = await startGateway(gatewayEnv(env, orchestrator.url, { SSH_PORT: String(port) }));
      try {
        for (let i = 0; i < 3; i += 1) {
          const started = Date.now();
          const res = await fetch(`${gateway.url}/api/v1/services`);
          expect(Date.now() - started).toBeLessThan(1000);
          expect(res.status).toBe(503);
          expect(await res.json()).toMatchObject({
            statusCode: 503,
            error: 'Service Unavailable',
            message: expect.stringMatching(
              new RegExp(`SSH tunnel to ${env.SSH_HOST}:${port} is down: .*ECONNREFUSED`),
            ) as unknown,
          });
        }
        // Never ready since it started: starting, not degraded, and 503 so no script creates yet.
        const health = await fetch(`${gateway.url}/health`);
        expect(health.status).toBe(503);
        expect(await health.json()).toMatchObject({
          status: 'starting',
          orchestrator: { reachable: false },
          transport: { mode: 'ssh', phase: 'backoff' },
        });
        expect((await fetch(`${gateway.url}/ready`)).status).toBe(503);
      } finally {
        await gateway.close();
      }
      expect(orchestrator.forwarded()).toHaveLength(0);
    });

    it('answers 503 with the host key problem when known_hosts is wrong', async () => {
      const wrong = join(dir, 'gw_wrong_known_hosts');
      await writeFile(wrong, wrongKeyLine(`[${env.SSH_HOST}]:${env.SSH_PORT}`));
      const gateway = await startGateway(gatewayEnv(env, orchestrator.url, { SSH_KNOWN_HOSTS_PATH: wrong }));
      try {
        const res = await fetch(`${gateway.url}/api/v1/services`);
        expect(res.status).toBe(503);
        expect(((await res.json()) as { message: string }).message).toMatch(/HOST KEY MISMATCH/);
      } finally {
        await gateway.close();
      }
    });
  });
});
