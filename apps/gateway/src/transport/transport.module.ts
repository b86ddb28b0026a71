import { Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import type { Agent } from 'node:http';
import { HttpForwarder, PassThroughDispatcher, type Logger } from '@aiplane/server-kit';
import type { GatewayConfig } from '../gateway.config';
import {
  GATEWAY_CONFIG,
  ORCHESTRATOR_AGENT,
  ORCHESTRATOR_FORWARDER,
  ORCHESTRATOR_PROBE,
  OrchestratorClient,
  PROBE_TIMEOUT_MS,
  SSH_TUNNEL,
} from './orchestrator.client';
import { passThroughProvider } from './pass-through.provider';
import { SshTunnel } from './ssh-tunnel';
import { TerminalPrompter, type Prompter } from './terminal.prompter';
import { upstreamAgent, upstreamBaseUrl } from './upstream.factory';

export function createSshTunnel(
  config: GatewayConfig,
  logger: Logger,
  prompter?: Prompter,
): SshTunnel | null {
  if (!config.ssh) return null;
  const ssh = config.ssh;
  return new SshTunnel({
    host: ssh.host,
    port: ssh.port,
    username: ssh.username,
    alias: ssh.alias,
    // SSH_KEY_PATH must exist; IdentityFiles from ~/.ssh/config are skipped when missing, as ssh does.
    ...(ssh.keyPathsRequired ? { privateKeyPath: ssh.keyPaths[0] ?? '' } : { keyPaths: ssh.keyPaths }),
    ...(ssh.agentSocket === undefined ? {} : { agentSocket: ssh.agentSocket }),
    jumps: ssh.jumps,
    passphrase: ssh.passphrase,
    ...(ssh.pinPath === undefined ? {} : { pinPath: ssh.pinPath }),
    prompter: prompter ?? new TerminalPrompter(process.stdin, process.stderr),
    knownHostsPath: ssh.knownHostsPath,
    keepaliveIntervalMs: ssh.keepaliveMs,
    // A request waiting for the first connection must get its answer within the upstream budget.
    readyTimeoutMs: Math.min(10_000, config.upstreamTimeoutMs),
    channelTimeoutMs: Math.min(10_000, config.upstreamTimeoutMs),
    logger: logger.child({ component: 'ssh-tunnel' }),
  });
}

/**
 * How the gateway reaches the orchestrator (control plane) and the proxy (data plane): one SSH
 * connection when SSH_HOST is set, else plain HTTP.
 */
@Module({})
export class TransportModule implements OnApplicationShutdown {
  constructor(private readonly passThrough: PassThroughDispatcher) {}

  onApplicationShutdown(): void {
    this.passThrough.close();
  }

  static forRoot(config: GatewayConfig, logger: Logger): DynamicModule {
    return {
      module: TransportModule,
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        { provide: SSH_TUNNEL, useFactory: () => createSshTunnel(config, logger) },
        {
          provide: ORCHESTRATOR_AGENT,
          inject: [SSH_TUNNEL],
          useFactory: (tunnel: SshTunnel | null): Agent => upstreamAgent(tunnel, config.orchestratorSocket),
        },
        {
          provide: ORCHESTRATOR_FORWARDER,
          inject: [ORCHESTRATOR_AGENT],
          useFactory: (agent: Agent) =>
            new HttpForwarder({
              name: 'orchestrator',
              baseUrl: upstreamBaseUrl(config.orchestratorUrl, config.orchestratorSocket),
              agent,
              timeoutMs: config.upstreamTimeoutMs,
            }),
        },
        {
          provide: ORCHESTRATOR_PROBE,
          inject: [ORCHESTRATOR_AGENT],
          useFactory: (agent: Agent) =>
            new HttpForwarder({
              name: 'orchestrator',
              baseUrl: upstreamBaseUrl(config.orchestratorUrl, config.orchestratorSocket),
              agent,
              timeoutMs: Math.min(PROBE_TIMEOUT_MS, config.upstreamTimeoutMs),
            }),
        },
        OrchestratorClient,
        passThroughProvider(config),
      ],
      exports: [OrchestratorClient, GATEWAY_CONFIG, PassThroughDispatcher],
    };
  }
}
