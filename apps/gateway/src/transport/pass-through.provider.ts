import type { FactoryProvider } from '@nestjs/common';
import { GATEWAY_PREFIX } from '@aiplane/contracts';
import { PassThroughDispatcher } from '@aiplane/server-kit';
import type { GatewayConfig } from '../gateway.config';
import { SSH_TUNNEL } from './orchestrator.client';
import type { SshTunnel } from './ssh-tunnel';
import { upstreamBaseUrl, upstreamPool } from './upstream.factory';

/**
 * The data plane's way out of the gateway: straight to the proxy, not through the orchestrator, over
 * plain HTTP or over channels of the one SSH connection the control plane uses too. createGatewayApp
 * installs it in front of Nest.
 */
export const passThroughProvider = (config: GatewayConfig): FactoryProvider<PassThroughDispatcher> => ({
  provide: PassThroughDispatcher,
  inject: [SSH_TUNNEL],
  useFactory: (tunnel: SshTunnel | null) =>
    new PassThroughDispatcher({
      hop: 'gateway',
      prefix: GATEWAY_PREFIX,
      upstream: {
        name: 'data-plane proxy',
        baseUrl: upstreamBaseUrl(config.proxyUrl, config.proxySocket),
        dispatcher: upstreamPool(tunnel, config.proxyUrl, config.proxySocket),
        token: config.proxyToken,
        timeoutMs: config.upstreamTimeoutMs,
      },
      ...(tunnel
        ? {
            transportEpoch: () => tunnel.dropCount,
            explainFailure: (error: Error, dropsBefore: number) => tunnel.explainLoss(error, dropsBefore),
          }
        : {}),
    }),
});
