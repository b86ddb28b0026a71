import type { Agent } from 'node:http';
import type { Socket } from 'node:net';
import type { Pool } from 'undici';
import {
  keepAliveAgent,
  passThroughPool,
  SOCKET_BASE_URL,
  UnixSocketAgent,
  type PoolConnector,
} from '@aiplane/server-kit';
import { channelAsSocket, openChannelTo, SshAgent } from './ssh-agent';
import type { SshTunnel } from './ssh-tunnel';

/**
 * Connections to one upstream: SSH channels (to its socket, or to its host and port as the SSH
 * server sees them) or, in local mode, straight to its socket or over TCP.
 */
export function upstreamAgent(tunnel: SshTunnel | null, socketPath: string | undefined): Agent {
  if (tunnel) return new SshAgent(tunnel, 64, socketPath);
  return socketPath === undefined ? keepAliveAgent() : new UnixSocketAgent(socketPath);
}

/** The base URL requests to an upstream are written against; for a socket peer only the Host header sees it. */
export function upstreamBaseUrl(url: string, socketPath: string | undefined): string {
  return socketPath === undefined ? url : SOCKET_BASE_URL;
}

/**
 * The data plane's pooled connections to the proxy (undici): SSH channels to its socket or its host
 * and port as the SSH server sees them, or in local mode its socket or TCP.
 */
export function upstreamPool(tunnel: SshTunnel | null, url: string, socketPath: string | undefined): Pool {
  const baseUrl = upstreamBaseUrl(url, socketPath);
  if (!tunnel) return passThroughPool(baseUrl, { socketPath });
  const connect: PoolConnector = (options, callback) => {
    openChannelTo(tunnel, options.hostname, Number(options.port || 80), socketPath).then(
      (channel) => {
        // undici asks of a connection only what a Duplex has (read, write, cork) and ref/unref,
        // which channelAsSocket adds.
        callback(null, channelAsSocket(channel) as unknown as Socket);
      },
      (error: unknown) => {
        callback(error instanceof Error ? error : new Error(String(error)), null);
      },
    );
  };
  return passThroughPool(baseUrl, { connect });
}
