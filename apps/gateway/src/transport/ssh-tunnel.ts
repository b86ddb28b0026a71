import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { Client, type ClientChannel } from 'ssh2';
import { UnavailableError, type Logger } from '@aiplane/server-kit';
import { checkHostKey, parseKnownHosts } from './known-hosts';

export interface SshTunnelOptions {
  host: string;
  port: number;
  username: string;
  privateKeyPath: string;
  knownHostsPath: string;
  keepaliveIntervalMs: number;
  /** Time allowed for TCP connect + handshake + auth; requests waiting on the first connect wait this long. */
  readyTimeoutMs?: number;
  /** Time allowed for the server to open one direct-tcpip channel. */
  channelTimeoutMs?: number;
  /** Reconnect delays double from `minBackoffMs` up to this cap. */
  maxBackoffMs?: number;
  minBackoffMs?: number;
  logger?: Logger;
}

export type TunnelPhase = 'idle' | 'connecting' | 'connected' | 'backoff' | 'closed';

export interface TunnelState {
  phase: TunnelPhase;
  target: string;
  connected_since: string | null;
  last_error: string | null;
  /** Consecutive failed connection attempts since the last success. */
  failed_attempts: number;
}

/** What the HTTP agent needs from a tunnel; lets the agent be tested without sshd. */
export interface ChannelOpener {
  openChannel(host: string, port: number): Promise<Duplex>;
  /** A channel to a Unix socket on the SSH server. */
  openLocalChannel(socketPath: string): Promise<Duplex>;
}

/**
 * One persistent SSH connection carrying every upstream request in its own direct-tcpip channel, to
 * whichever destination it names (the orchestrator for the control plane, the proxy for the data plane).
 * It connects on first use, reconnects with capped exponential backoff after any drop, and while
 * it is down every channel request fails at once: a researcher's client gets a clear 503 instead
 * of waiting out a timeout per request.
 */
export class SshTunnel implements ChannelOpener {
  private client: Client | undefined;
  private phase: TunnelPhase = 'idle';
  private connecting: Promise<Client> | undefined;
  private lastError: string | undefined;
  private connectedSince: Date | undefined;
  private failedAttempts = 0;
  private drops = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly readyTimeoutMs: number;
  private readonly channelTimeoutMs: number;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;

  constructor(private readonly options: SshTunnelOptions) {
    this.readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
    this.channelTimeoutMs = options.channelTimeoutMs ?? 10_000;
    this.minBackoffMs = options.minBackoffMs ?? 250;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
  }

  get target(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  state(): TunnelState {
    return {
      phase: this.phase,
      target: this.target,
      connected_since: this.connectedSince?.toISOString() ?? null,
      last_error: this.lastError ?? null,
      failed_attempts: this.failedAttempts,
    };
  }

  /**
   * Whether a request that began when `dropCount` was `dropsBefore` and has just failed lost its
   * channel with the connection. ssh2 closes a dead connection's channels only after the socket
   * has fully closed, so a request may take an idle pooled channel in between; node:http then
   * calls the failure "socket hang up", which names neither the tunnel nor the cause.
   */
  lostUnder(dropsBefore: number): boolean {
    return this.drops !== dropsBefore || this.phase !== 'connected';
  }

  get dropCount(): number {
    return this.drops;
  }

  /** What a request that lost its channel with the connection is told. */
  describeDrop(): string {
    return `SSH tunnel to ${this.target} dropped during the request: ${this.lastError ?? 'connection lost'}`;
  }

  /**
   * What a request that began at `dropsBefore` and failed with `error` is told, when the tunnel is
   * the cause and the error does not already say so; undefined when the error speaks for itself.
   */
  explainLoss(error: Error, dropsBefore: number): string | undefined {
    return this.lostUnder(dropsBefore) && !error.message.includes('SSH tunnel')
      ? this.describeDrop()
      : undefined;
  }

  async openChannel(host: string, port: number): Promise<Duplex> {
    const client = await this.connected();
    return this.forwardOut(`${host}:${String(port)}`, (done) => {
      client.forwardOut('127.0.0.1', 0, host, port, done);
    });
  }

  /**
   * A channel to a Unix socket on the SSH server: on a shared login node the orchestrator and the
   * proxy listen there, where only this user can connect, instead of on a port anyone can reach.
   */
  async openLocalChannel(socketPath: string): Promise<Duplex> {
    const client = await this.connected();
    return this.forwardOut(socketPath, (done) => {
      client.openssh_forwardOutStreamLocal(socketPath, done);
    });
  }

  /** The connection, once up; fails at once while it is down. */
  private async connected(): Promise<Client> {
    switch (this.phase) {
      case 'closed':
        throw new UnavailableError(`SSH tunnel to ${this.target} is closed`);
      case 'backoff':
        throw this.down();
      case 'idle':
        this.connect();
        break;
      case 'connecting':
      case 'connected':
        break;
    }
    let client = this.client;
    if (this.phase === 'connecting' && this.connecting) {
      try {
        client = await this.connecting;
      } catch {
        throw this.down();
      }
    }
    if (this.phase !== 'connected' || !client) throw this.down();
    return client;
  }

  /** Stops reconnecting and closes the connection; in-flight channels end with it. */
  async close(): Promise<void> {
    this.phase = 'closed';
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1_000);
      client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      client.end();
    });
  }

  private down(): UnavailableError {
    return new UnavailableError(`SSH tunnel to ${this.target} is down: ${this.lastError ?? 'not connected'}`);
  }

  private connect(): void {
    this.phase = 'connecting';
    const attempt = this.handshake();
    this.connecting = attempt;
    attempt.then(
      (client) => {
        if (this.phase === 'closed') {
          client.end();
          return;
        }
        this.client = client;
        this.phase = 'connected';
        this.connectedSince = new Date();
        this.failedAttempts = 0;
        this.lastError = undefined;
        this.options.logger?.info({ target: this.target }, 'ssh tunnel connected');
        client.on('error', (error: Error) => {
          this.lastError = error.message;
        });
        // 'end' (the server's FIN) comes before 'close', which waits for our side to finish
        // writing: a request arriving in between would take a pooled channel of a dead connection.
        const lost = (): void => {
          if (this.client !== client) return;
          this.client = undefined;
          this.connectedSince = undefined;
          if (this.phase === 'closed') return;
          this.drops += 1;
          this.lastError ??= 'connection closed by the server';
          this.options.logger?.warn({ target: this.target, reason: this.lastError }, 'ssh tunnel lost');
          this.scheduleReconnect();
        };
        client.once('end', lost);
        client.once('close', lost);
      },
      (error: unknown) => {
        if (this.phase === 'closed') return;
        this.failedAttempts += 1;
        this.lastError = error instanceof Error ? error.message : String(error);
        this.options.logger?.warn(
          { target: this.target, reason: this.lastError, attempt: this.failedAttempts },
          'ssh tunnel connection failed',
        );
        this.scheduleReconnect();
      },
    );
  }

  private scheduleReconnect(): void {
    this.phase = 'backoff';
    const exponent = Math.max(0, this.failedAttempts - 1);
    const delay = Math.min(this.maxBackoffMs, this.minBackoffMs * 2 ** Math.min(exponent, 20));
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (this.phase === 'backoff') this.connect();
    }, delay);
    // A pending reconnect alone must not keep a finished process (or a test run) alive.
    this.retryTimer.unref();
  }

  private async handshake(): Promise<Client> {
    const { host, port, username, privateKeyPath, knownHostsPath, keepaliveIntervalMs } = this.options;
    // Read on every attempt: a user fixing known_hosts or rotating a key needs no gateway restart.
    const [privateKey, knownHosts] = await Promise.all([
      readFile(privateKeyPath).catch((error: unknown) => {
        throw new Error(`cannot read SSH_KEY_PATH ${privateKeyPath}: ${messageOf(error)}`);
      }),
      readFile(knownHostsPath, 'utf8').catch((error: unknown) => {
        throw new Error(`cannot read SSH_KNOWN_HOSTS_PATH ${knownHostsPath}: ${messageOf(error)}`);
      }),
    ]);
    const entries = parseKnownHosts(knownHosts);
    const client = new Client();
    return new Promise<Client>((resolve, reject) => {
      let hostKeyProblem: string | undefined;
      let settled = false;
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        client.end();
        reject(new Error(hostKeyProblem ?? error.message));
      };
      client.once('ready', () => {
        if (settled) return;
        settled = true;
        client.removeListener('error', fail);
        // Bridges the gap until connect() attaches its own listener: an unheard 'error' would crash.
        client.on('error', () => undefined);
        resolve(client);
      });
      client.on('error', fail);
      client.once('close', () => {
        fail(new Error('connection closed during the SSH handshake'));
      });
      try {
        client.connect({
          host,
          port,
          username,
          privateKey,
          readyTimeout: this.readyTimeoutMs,
          keepaliveInterval: keepaliveIntervalMs,
          keepaliveCountMax: 3,
          hostVerifier: (key: Buffer): boolean => {
            const check = checkHostKey(entries, host, port, key, knownHostsPath);
            if (!check.ok) hostKeyProblem = check.reason;
            return check.ok;
          },
        });
        // Without it every new channel waits on Nagle + delayed ACK: ~40 ms per request.
        client.setNoDelay(true);
      } catch (error: unknown) {
        // ssh2 throws synchronously on a key it cannot parse.
        fail(new Error(`cannot use SSH_KEY_PATH ${privateKeyPath}: ${messageOf(error)}`));
      }
    });
  }

  private forwardOut(
    destination: string,
    open: (done: (error: Error | undefined, channel: ClientChannel | undefined) => void) => void,
  ): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      let done = false;
      const timer = setTimeout(() => {
        done = true;
        reject(
          new UnavailableError(
            `SSH tunnel to ${this.target}: no channel to ${destination} within ${this.channelTimeoutMs} ms`,
          ),
        );
      }, this.channelTimeoutMs);
      const finish = (error: Error | undefined, channel: ClientChannel | undefined): void => {
        clearTimeout(timer);
        if (done) {
          channel?.close();
          return;
        }
        done = true;
        if (error || !channel) {
          reject(
            new UnavailableError(
              `SSH tunnel to ${this.target} could not reach ${destination}: ${error?.message ?? 'no channel'}`,
            ),
          );
        } else {
          resolve(channel);
        }
      };
      try {
        open(finish);
      } catch (error: unknown) {
        finish(error instanceof Error ? error : new Error(String(error)), undefined);
      }
    });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
