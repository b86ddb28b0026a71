import { ConfigError } from '@aiplane/config';
import { redactUrlCredentials } from '@aiplane/contracts';
import { createLogger, listen } from '@aiplane/server-kit';
import { createGatewayApp } from './gateway.app';
import { loadGatewayConfig } from './gateway.config';
import { SSH_TUNNEL } from './transport/orchestrator.client';
import type { SshTunnel } from './transport/ssh-tunnel';

async function main(): Promise<void> {
  const config = loadGatewayConfig();
  const logger = createLogger('gateway', config.logLevel, undefined, config.logFormat);
  const app = await createGatewayApp(config, logger);
  // At a terminal the passphrase and one-time codes are asked now, before the first request waits on them.
  const tunnel = app.get<SshTunnel | null>(SSH_TUNNEL);
  if (tunnel && process.stdin.isTTY) {
    await tunnel.ready().catch((error: unknown) => {
      logger.warn({ reason: (error as Error).message }, 'ssh tunnel not up yet; retrying in the background');
    });
  }
  await listen(app, config.host, config.port, logger);
  logger.info(
    {
      orchestrator: config.orchestratorSocket ?? redactUrlCredentials(config.orchestratorUrl),
      proxy: config.proxySocket ?? redactUrlCredentials(config.proxyUrl),
      transport: config.ssh
        ? `ssh ${config.ssh.username}@${config.ssh.host}:${String(config.ssh.port)}${config.ssh.jumps.map((jump) => ` via ${jump.host}`).join('')}`
        : 'http',
      bearer_token: config.orchestratorToken ? 'set' : 'not set',
      proxy_token: config.proxyToken ? 'set' : 'not set',
      docs: `http://${config.host}:${String(config.port)}/docs`,
      dashboard: `http://${config.host}:${String(config.port)}/ui/`,
    },
    'gateway ready',
  );
}

main().catch((error: unknown) => {
  // A configuration problem is the user's to fix: its message says what, a stack trace would only bury it.
  process.stderr.write(
    `${error instanceof ConfigError ? error.message : String((error as Error).stack ?? error)}\n`,
  );
  process.exit(1);
});
