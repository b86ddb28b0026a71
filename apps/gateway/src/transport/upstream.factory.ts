import type { Agent } from 'node:http';
import { keepAliveAgent, SOCKET_BASE_URL, UnixSocketAgent } from '@aiplane/server-kit';
import { SshAgent } from './ssh-agent';
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
