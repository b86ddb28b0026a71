import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import type { ChannelOpener } from './ssh-tunnel';

type SocketLike = Duplex & {
  setTimeout(ms: number, callback?: () => void): SocketLike;
  setNoDelay(noDelay?: boolean): SocketLike;
  setKeepAlive(enable?: boolean, delay?: number): SocketLike;
  ref(): SocketLike;
  unref(): SocketLike;
};

/**
 * Gives an SSH channel the socket methods node:http calls. Nagle and keep-alive belong to the one
 * TCP connection underneath, so those are no-ops; setTimeout is real, because the forwarder's
 * time-to-first-byte limit relies on the socket emitting 'timeout'.
 */
export function channelAsSocket(channel: Duplex): SocketLike {
  const socket = channel as SocketLike;
  let timer: NodeJS.Timeout | undefined;
  socket.setTimeout = (ms: number, callback?: () => void): SocketLike => {
    clearTimeout(timer);
    timer = undefined;
    // net.Socket semantics, which node:http relies on when it parks a socket: 0 + callback removes it.
    if (callback) {
      if (ms === 0) socket.removeListener('timeout', callback);
      else socket.once('timeout', callback);
    }
    if (ms > 0) {
      timer = setTimeout(() => socket.emit('timeout'), ms);
      timer.unref();
    }
    return socket;
  };
  socket.once('close', () => {
    clearTimeout(timer);
  });
  // node:http is written for net.Socket without allowHalfOpen: once the far end has finished, the
  // connection is over. A channel stays half-open instead, so a pooled one whose server went away
  // (an orchestrator restart) would take the next request and leave it unanswered until the
  // upstream timeout. Ending it here makes that request open a fresh channel, or fail at once.
  socket.once('end', () => {
    socket.destroy();
  });
  socket.setNoDelay = () => socket;
  socket.setKeepAlive = () => socket;
  socket.ref = () => socket;
  socket.unref = () => socket;
  return socket;
}

/**
 * A channel of the tunnel to `host`:`port` as the SSH server sees them, or to `socketPath` on it
 * (OpenSSH's streamlocal forwarding) when given.
 */
export function openChannelTo(
  tunnel: ChannelOpener,
  host: string,
  port: number,
  socketPath: string | undefined,
): Promise<Duplex> {
  return socketPath === undefined ? tunnel.openChannel(host, port) : tunnel.openLocalChannel(socketPath);
}

/**
 * An http.Agent whose connections are direct-tcpip channels of one SSH connection. The gateway keeps
 * one per destination (the orchestrator, the proxy), all over the same tunnel, so each has its own
 * pool of parked channels and its own cap. Channels are
 * kept alive and reused like sockets of a keep-alive agent: a new channel costs a round trip to
 * the SSH server plus a TCP connect from there, which would otherwise be paid on every request.
 */
export class SshAgent extends http.Agent {
  /**
   * `socketPath`: every channel goes to this Unix socket on the SSH server (OpenSSH's
   * streamlocal forwarding) instead of the host and port the request names.
   */
  constructor(
    private readonly tunnel: ChannelOpener,
    maxSockets = 64,
    private readonly socketPath?: string,
  ) {
    super({ keepAlive: true, maxSockets, keepAliveMsecs: 10_000 });
  }

  override createConnection(
    options: http.ClientRequestArgs,
    callback?: (error: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const host = options.hostname ?? options.host ?? '127.0.0.1';
    openChannelTo(this.tunnel, host, Number(options.port ?? 80), this.socketPath).then(
      (channel) => {
        callback?.(null, channelAsSocket(channel));
      },
      (error: unknown) => {
        // node:http's own typing insists on a stream even on error; it never reads it then.
        callback?.(error instanceof Error ? error : new Error(String(error)), undefined as unknown as Duplex);
      },
    );
    return undefined;
  }
}
