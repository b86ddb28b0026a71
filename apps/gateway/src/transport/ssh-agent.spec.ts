import * as net from 'node:net';
import { Duplex, PassThrough } from 'node:stream';
import { HttpForwarder, UnavailableError } from '@aiplane/server-kit';
import { StandInOrchestrator } from '../testing/stand-in-orchestrator';
import { channelAsSocket, SshAgent } from './ssh-agent';
import type { ChannelOpener } from './ssh-tunnel';

/** Stands in for SSH: "channels" are TCP connections, each announced to the test. */
class TcpOpener implements ChannelOpener {
  readonly opened: { host: string; port: number }[] = [];
  failWith: Error | undefined;

  openChannel(host: string, port: number): Promise<Duplex> {
    this.opened.push({ host, port });
    if (this.failWith) return Promise.reject(this.failWith);
    // A plain Duplex wrapper, so the socket methods node:http uses must come from channelAsSocket.
    const socket = net.connect(port, host);
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
});
