import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { HttpForwarder, SOCKET_BASE_URL, UnavailableError } from '@aiplane/server-kit';
import { StandInOrchestrator } from '../testing/stand-in-orchestrator';
import { channelAsSocket, SshAgent } from './ssh-agent';
import type { ChannelOpener } from './ssh-tunnel';

/** Stands in for SSH: "channels" are TCP connections, each announced to the test. */
class TcpOpener implements ChannelOpener {
  readonly opened: ({ host: string; port: number } | { socketPath: string })[] = [];
  failWith: Error | undefined;

  openChannel(host: string, port: number): Promise<Duplex> {
    this.opened.push({ host, port });
    return this.connect(net.connect(port, host));
  }

  openLocalChannel(socketPath: string): Promise<Duplex> {
    this.opened.push({ socketPath });
    return this.connect(net.connect(socketPath));
  }

  private connect(socket: net.Socket): Promise<Duplex> {
    if (this.failWith) {
      socket.destroy();
      return Promise.reject(this.failWith);
    }
    // A plain Duplex wrapper, so the socket methods node:http uses must come from channelAsSocket.
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.once('connect', () => {
        resolve(Duplex.from({ readable: socket, writable: socket }));
      });
    });
  }
}

describe('channelAsSocket', () => {
  it('gives a stream the socket methods node:http calls', () => {
    const socket = channelAsSocket(new PassThrough());
    expect(socket.setNoDelay(true)).toBe(socket);
    expect(socket.setKeepAlive(true, 1000)).toBe(socket);
    expect(socket.ref()).toBe(socket);
    expect(socket.unref()).toBe(socket);
  });

  it("emits 'timeout' after the time set, and not once cleared", async () => {
    const socket = channelAsSocket(new PassThrough());
    const fired = jest.fn();
    socket.setTimeout(30, fired);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(fired).toHaveBeenCalledTimes(1);
    const again = jest.fn();
    socket.on('timeout', again);
    socket.setTimeout(30);
    socket.setTimeout(0);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(again).not.toHaveBeenCalled();
  });
});

describe('channelAsSocket when the far end finishes', () => {
  it('ends the channel, as node:http expects of a socket, so it is never handed another request', async () => {
    // A half-open stream, like an SSH channel after the server's EOF.
    const channel = new Duplex({
      allowHalfOpen: true,
      read: () => undefined,
      write: (_c, _e, cb) => {
        cb();
      },
    });
    const socket = channelAsSocket(channel);
    socket.resume();
    channel.push(null);
    await new Promise((resolve) => setImmediate(resolve));
    expect(socket.destroyed).toBe(true);
  });
});

describe('SshAgent', () => {
  const orchestrator = new StandInOrchestrator();
  const opener = new TcpOpener();
  const forwarder = (timeoutMs = 2000): HttpForwarder =>
    new HttpForwarder({
      name: 'orchestrator',
      baseUrl: orchestrator.url,
      agent: new SshAgent(opener),
      timeoutMs,
    });

  beforeAll(async () => {
    await orchestrator.start();
  });

  afterAll(async () => {
    await orchestrator.close();
  });

  beforeEach(() => {
    orchestrator.reset();
    opener.opened.length = 0;
    opener.failWith = undefined;
  });

  it('carries requests in channels to the orchestrator, reusing a parked channel', async () => {
    const agent = new SshAgent(opener);
    const via = new HttpForwarder({
      name: 'orchestrator',
      baseUrl: orchestrator.url,
      agent,
      timeoutMs: 2000,
    });
    const paths = Array.from({ length: 15 }, (_, i) => `/api/services/${i}`);
    for (const path of paths) {
      const res = await via.request({ method: 'GET', path });
      expect(res.statusCode).toBe(200);
      await new Promise((resolve) => res.on('end', resolve).resume());
      await new Promise(setImmediate);
    }
    expect(opener.opened).toEqual([{ host: '127.0.0.1', port: orchestrator.port }]);
    expect(orchestrator.requests.map((request) => request.url)).toEqual(paths);
    // Parking a channel must not pile up 'timeout' listeners, request after request.
    const parked = Object.values(agent.freeSockets).flat();
    expect(parked).toHaveLength(1);
    expect(parked[0]!.listenerCount('timeout')).toBeLessThanOrEqual(2);
    agent.destroy();
  });

  it('turns a channel that cannot be opened into a 503 naming the tunnel', async () => {
    opener.failWith = new UnavailableError('SSH tunnel to login:22 is down: connect ECONNREFUSED');
    await expect(forwarder().request({ method: 'GET', path: '/api/services' })).rejects.toMatchObject({
      status: 503,
      message: 'The orchestrator is unreachable: SSH tunnel to login:22 is down: connect ECONNREFUSED',
    });
  });

  it('still enforces the time-to-first-byte limit inside a channel', async () => {
    orchestrator.handler = () => undefined;
    const started = Date.now();
    await expect(forwarder(300).request({ method: 'GET', path: '/api/services' })).rejects.toMatchObject({
      status: 504,
    });
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("opens channels to the upstream's Unix socket when it has one, whatever the URL names", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ssh-agent-'));
    const socketPath = path.join(dir, 'orchestrator.sock');
    const server = http.createServer((req, res) => {
      res.end(`socket saw ${req.url ?? ''}`);
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    const agent = new SshAgent(opener, 64, socketPath);
    try {
      const via = new HttpForwarder({
        name: 'orchestrator',
        baseUrl: SOCKET_BASE_URL,
        agent,
        timeoutMs: 2000,
      });
      const res = await via.request({ method: 'GET', path: '/api/services' });
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe('socket saw /api/services');
      expect(opener.opened).toEqual([{ socketPath }]);
    } finally {
      agent.destroy();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
