import type { Request } from 'express';
import { InvalidScrapeOriginError, scrapeHost } from '@aiplane/contracts';
import { BadRequestError } from '@aiplane/server-kit';
import { API_PREFIX } from '../openapi';

/**
 * How the client reached this gateway, as `X-Forwarded-*` headers for the orchestrator: scrape
 * targets must name the gateway, which the client's Prometheus can reach, not the orchestrator's
 * address behind the tunnel. The client's own `X-Forwarded-*` headers are never passed on.
 * The Host is checked here so that a bad one is refused under its own name, not the orchestrator's.
 */
export function forwardedOrigin(req: Request): Record<string, string> {
  const proto = req.protocol === 'https' ? 'https' : 'http';
  const host = req.headers.host ?? localAddressOf(req);
  try {
    scrapeHost(host, 'Host', proto);
  } catch (error) {
    if (error instanceof InvalidScrapeOriginError) throw new BadRequestError(error.message);
    throw error;
  }
  return {
    'x-forwarded-host': host,
    'x-forwarded-proto': proto,
    'x-forwarded-prefix': `/${API_PREFIX}`,
  };
}

/** An HTTP/1.0 request may come without Host: the address it reached is then the best answer. */
function localAddressOf(req: Request): string {
  const address = req.socket.localAddress ?? '';
  const port = req.socket.localPort;
  const host = address.includes(':') ? `[${address}]` : address;
  return port === undefined ? host : `${host}:${String(port)}`;
}
