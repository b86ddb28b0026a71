import { lookup as dnsLookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { Client, type ClientChannel } from 'ssh2';
import type { TunnelReading } from '@aiplane/metrics';
import { UnavailableError, type Logger } from '@aiplane/server-kit';
import { blobKeyType, checkHostKey, fingerprint, parseKnownHosts, type KnownHostEntry } from './known-hosts';
import type { NodePin } from './node-pin.schema';
import { NodePinStorage } from './node-pin.storage';
import { createSshAuth } from './ssh-auth.factory';
import { SshKeyCache } from './ssh-keys.cache';
import type { PassphraseSource, SshEndpoint } from './ssh.types';
import type { Prompter } from './terminal.prompter';

export interface SshTunnelOptions {
  host: string;
  port: number;
  username: string;
  /** The name the user gave (SSH_HOST), when `~/.ssh/config` mapped it to `host`. */
  alias?: string;
  /** One key that must exist (SSH_KEY_PATH); when set, `keyPaths` are not used. */
  privateKeyPath?: string;
  /** Keys that may be missing (the config's IdentityFiles, skipped then, as ssh does), tried in order. */
  keyPaths?: string[];
  /** An ssh-agent socket (SSH_AUTH_SOCK), tried before any key file. */
  agentSocket?: string;
  /** ProxyJump hosts, first hop first. */
  jumps?: SshEndpoint[];
  passphrase?: PassphraseSource;
  /** The person at the terminal; without one, passphrases and one-time codes cannot be asked. */
  prompter?: Prompter;
  /** Set: pin the login node first reached here, and go back only to it (several nodes behind one name). */
  pinPath?: string;
  /** The addresses a name resolves to, in the order to try them; DNS by default. */
  lookup?: (host: string) => Promise<string[]>;
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

/** The metrics' tunnel states, one gauge each. */
export type TunnelPhase = TunnelReading['phase'];

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
  /** Successful connections since the start: all but the first are reconnects. */
  private connections = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly readyTimeoutMs: number;
  private readonly channelTimeoutMs: number;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly keys: SshKeyCache;
  /** While a person is asked at the terminal: the attempt's deadline pauses, requests fail at once. */
  private askingPerson = false;
  private onPerson: ((asking: boolean) => void) | undefined;

  constructor(private readonly options: SshTunnelOptions) {
    this.keys = new SshKeyCache(
      options.passphrase ?? { file: undefined, value: undefined },
      options.prompter,
      (asking) => {
        this.askingPerson = asking;
        this.onPerson?.(asking);
      },
    );
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

  /** What the gateway's metrics read at each scrape. */
  metricsReading(): TunnelReading {
    return { phase: this.phase, target: this.target, reconnects: Math.max(0, this.connections - 1) };
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
    if (this.phase === 'connecting' && this.askingPerson) {
      throw new UnavailableError(
        `SSH tunnel to ${this.target} is waiting for an answer at the gateway's terminal`,
      );
    }
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
        this.connections += 1;
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

  /** The first connection, now; for a gateway at a terminal, so its prompts come before it serves. */
  async ready(): Promise<void> {
    await this.connected();
  }

  private get endpoint(): SshEndpoint {
    const { host, port, username, alias, privateKeyPath, keyPaths, agentSocket } = this.options;
    return {
      alias: alias ?? host,
      host,
      port,
      username,
      keyPaths: privateKeyPath === undefined ? (keyPaths ?? []) : [privateKeyPath],
      keyPathsRequired: privateKeyPath !== undefined,
      agentSocket,
    };
  }

  /**
   * Through the jump hosts, if any, to the login node: the pinned one when there is a pin. A pinned
   * node that offers another host key, or answers to another name, is refused, never re-pinned.
   */
  private async handshake(): Promise<Client> {
    const { knownHostsPath, pinPath } = this.options;
    // Read on every attempt: a user fixing known_hosts or rotating a key needs no gateway restart.
    const knownHosts = parseKnownHosts(
      await readFile(knownHostsPath, 'utf8').catch((error: unknown) => {
        throw new Error(`cannot read SSH_KNOWN_HOSTS_PATH ${knownHostsPath}: ${messageOf(error)}`);
      }),
    );
    const target = this.endpoint;
    const pins = pinPath === undefined ? undefined : new NodePinStorage(pinPath);
    const pinName = `${target.username}@${target.host}:${String(target.port)}`;
    const pin = await pins?.read(pinName);
    const chain: Client[] = [];
    const endChain = (): void => {
      for (const client of chain) client.end();
    };
    try {
      let sock: Duplex | undefined;
      let dialled: string | undefined;
      let seenKey: Buffer | undefined;
      const hops = [...(this.options.jumps ?? []), target];
      for (const [index, hop] of hops.entries()) {
        const last = index === hops.length - 1;
        const address = last && pin ? pin.address : hop.host;
        if (!sock) {
          const tcp = await this.dial(address, hop.port).catch((error: unknown) => {
            if (!(last && pin)) throw error;
            throw new Error(
              `the pinned login node ${pin.node} (${pin.address}:${String(pin.port)}) cannot be reached: ` +
                `${messageOf(error)}; if the control plane moved to another node, delete the pin in ${pins?.path ?? ''}`,
            );
          });
          sock = tcp.socket;
          dialled = tcp.address;
        }
        const { client, hostKey } = await this.login(hop, sock, knownHosts, last ? pin : undefined);
        chain.push(client);
        seenKey = hostKey;
        if (last) break;
        const next = hops[index + 1];
        if (!next) break;
        const nextAddress = index + 1 === hops.length - 1 && pin ? pin.address : next.host;
        sock = await this.forwardOut(`${nextAddress}:${String(next.port)} via ${hop.host}`, (done) => {
          client.forwardOut('127.0.0.1', 0, nextAddress, next.port, done);
        });
        dialled = undefined;
      }
      const client = chain[chain.length - 1];
      if (!client) throw new Error('no connection');
      if (pins && seenKey) await this.checkPin(client, seenKey, pins, pinName, pin, dialled);
      // A jump host's connection ends with the one it carries, and the other way round.
      client.once('close', endChain);
      for (const jump of chain.slice(0, -1)) {
        jump.once('close', () => client.end());
      }
      return client;
    } catch (error: unknown) {
      endChain();
      throw error;
    }
  }

  /** A TCP connection to the first address of `host` that answers, as ssh tries each in turn. */
  private async dial(host: string, port: number): Promise<{ socket: net.Socket; address: string }> {
    const addresses =
      net.isIP(host) !== 0
        ? [host]
        : await (this.options.lookup ?? defaultLookup)(host).catch((error: unknown) => {
            throw new Error(`cannot resolve ${host}: ${messageOf(error)}`);
          });
    let lastError: unknown = new Error(`${host} resolves to no address`);
    for (const address of addresses) {
      try {
        return { socket: await connectTcp(address, port, this.readyTimeoutMs), address };
      } catch (error: unknown) {
        lastError = error;
      }
    }
    throw lastError;
  }

  /** One SSH login over `sock`: host key checked against known_hosts (and the pin), then auth. */
  private login(
    hop: SshEndpoint,
    sock: Duplex,
    knownHosts: KnownHostEntry[],
    pin: NodePin | undefined,
  ): Promise<{ client: Client; hostKey: Buffer }> {
    const client = new Client();
    let deadline: NodeJS.Timeout | undefined;
    let hostKey: Buffer | undefined;
    return new Promise((resolve, reject) => {
      let problem: string | undefined;
      let settled = false;
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        client.end();
        sock.destroy();
        reject(new Error(problem ?? error.message));
      };
      // Waiting for a handshake has a deadline; waiting for a person to type does not.
      const armDeadline = (): void => {
        clearTimeout(deadline);
        deadline = setTimeout(() => {
          fail(new Error(`Timed out while waiting for handshake with ${hop.host}:${String(hop.port)}`));
        }, this.readyTimeoutMs);
      };
      this.onPerson = (asking) => {
        if (asking) clearTimeout(deadline);
        else if (!settled) armDeadline();
      };
      const auth = createSshAuth(hop, this.keys, this.options.prompter, (reason) => {
        problem = reason;
        fail(new Error(reason));
      });
      client.once('ready', () => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        client.removeListener('error', onError);
        // Bridges the gap until connect() attaches its own listener: an unheard 'error' would crash.
        client.on('error', () => undefined);
        if (hostKey) resolve({ client, hostKey });
        else reject(new Error(`${hop.host} completed the handshake without a host key`));
      });
      const onError = (error: Error & { level?: string }): void => {
        // A stale SSH_AUTH_SOCK is common; ssh2 reports it, then goes on to the key files, as ssh does.
        if (error.level === 'agent') {
          auth.note(`the ssh-agent at ${hop.agentSocket ?? '?'} cannot be used: ${error.message}`);
          return;
        }
        if (error.level === 'client-authentication') problem ??= auth.explain();
        fail(error);
      };
      client.on('error', onError);
      client.once('close', () => {
        fail(new Error(`connection closed during the SSH handshake with ${hop.host}:${String(hop.port)}`));
      });
      armDeadline();
      try {
        client.connect({
          sock,
          username: hop.username,
          authHandler: auth.handler,
          // The deadline above instead, which pauses while a person types.
          readyTimeout: 0,
          keepaliveInterval: this.options.keepaliveIntervalMs,
          keepaliveCountMax: 3,
          hostVerifier: (key: Buffer): boolean => {
            hostKey = key;
            const check = checkHostKey(knownHosts, hop.host, hop.port, key, this.options.knownHostsPath);
            if (!check.ok) problem = check.reason;
            else if (pin && pin.host_key !== hostKeyText(key)) problem = this.pinnedKeyChanged(pin, key);
            return problem === undefined;
          },
        });
        // Without it every new channel waits on Nagle + delayed ACK: ~40 ms per request.
        client.setNoDelay(true);
      } catch (error: unknown) {
        fail(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  private pinnedKeyChanged(pin: NodePin, key: Buffer): string {
    const [pinnedType, pinnedBlob] = pin.host_key.split(' ');
    const was = `${pinnedType ?? '?'} ${fingerprint(Buffer.from(pinnedBlob ?? '', 'base64'))}`;
    return (
      `HOST KEY CHANGED on the pinned login node ${pin.node} (${pin.address}:${String(pin.port)}): ` +
      `it was ${was} when pinned at ${pin.pinned_at}, now it offers ${hostKeyText(key).split(' ')[0] ?? '?'} ${fingerprint(key)}. ` +
      'Refusing to connect: the node was reinstalled, or someone is intercepting the connection. ' +
      `Once you have checked the new key, delete the pin in ${this.options.pinPath ?? 'the pin file'} to pin anew`
    );
  }

  /**
   * Asks the node for its own name (several login nodes answer to one DNS name, and often share a
   * host key), then pins it on first contact or checks it against the pin.
   */
  private async checkPin(
    client: Client,
    hostKey: Buffer,
    pins: NodePinStorage,
    pinName: string,
    pin: NodePin | undefined,
    dialled: string | undefined,
  ): Promise<void> {
    const answer = await this.exec(
      client,
      'echo aiplane-node `hostname -f || hostname`; echo aiplane-conn $SSH_CONNECTION',
    );
    const node = /^aiplane-node (\S+)/m.exec(answer)?.[1];
    // SSH_CONNECTION's third field: the address the node was reached at, which a jump host can reach again.
    const serverAddress = /^aiplane-conn \S+ \S+ (\S+) \S+/m.exec(answer)?.[1];
    if (!node) {
      throw new Error(
        `cannot pin the login node behind ${pinName}: \`hostname\` answered nothing usable; ` +
          'set SSH_PIN_NODE=false to connect without pinning',
      );
    }
    if (pin) {
      if (node !== pin.node) {
        throw new Error(
          `the pinned login node ${pin.node} (${pin.address}) now answers as ${node}: refusing to connect to ` +
            `another node than the one the control plane runs on; delete the pin in ${pins.path} to pin anew`,
        );
      }
      return;
    }
    const address = dialled ?? serverAddress;
    if (!address)
      throw new Error(`cannot pin the login node ${node}: it did not say which address it was reached at`);
    await pins.write(pinName, {
      node,
      address,
      port: this.options.port,
      host_key: hostKeyText(hostKey),
      pinned_at: new Date().toISOString(),
    });
    this.options.logger?.info(
      { target: pinName, node, address, pin_file: pins.path },
      'ssh login node pinned',
    );
  }

  /** The stdout of one command on the server, within the channel timeout. */
  private async exec(client: Client, command: string): Promise<string> {
    const channel = await this.forwardOut(`an exec channel`, (done) => {
      client.exec(command, done);
    });
    return new Promise<string>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => {
        channel.close();
        reject(new Error(`\`${command}\` did not finish within ${String(this.channelTimeoutMs)} ms`));
      }, this.channelTimeoutMs);
      channel.setEncoding('utf8');
      channel.on('data', (chunk: string) => (output += chunk));
      channel.stderr.resume();
      channel.once('close', () => {
        clearTimeout(timer);
        resolve(output);
      });
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

function defaultLookup(host: string): Promise<string[]> {
  return dnsLookup(host, { all: true }).then((found) => found.map((entry) => entry.address));
}

function connectTcp(address: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect to ${address}:${String(port)} timed out after ${String(timeoutMs)} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** How a pin records a host key: as a known_hosts line has it. */
function hostKeyText(key: Buffer): string {
  return `${blobKeyType(key) ?? 'unknown'} ${key.toString('base64')}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
