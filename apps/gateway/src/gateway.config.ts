import { z } from 'zod';
import { durationMsFromEnv, parseConfig, portFromEnv } from '@aiplane/config';

export interface SshSettings {
  host: string;
  port: number;
  user: string;
  keyPath: string;
  knownHostsPath: string;
  keepaliveMs: number;
}

export interface GatewayConfig {
  host: string;
  port: number;
  /** Where the orchestrator listens; in SSH mode as seen from the SSH server. */
  orchestratorUrl: string;
  /** The orchestrator's Unix socket (in SSH mode on the SSH server); when set, used instead of the URL. */
  orchestratorSocket: string | undefined;
  orchestratorToken: string | undefined;
  /** Where the data-plane proxy listens; in SSH mode as seen from the SSH server. */
  proxyUrl: string;
  /** The proxy's Unix socket (in SSH mode on the SSH server); when set, used instead of the URL. */
  proxySocket: string | undefined;
  /** Sent to the proxy; the stack gives the proxy the orchestrator's token, hence the default. */
  proxyToken: string | undefined;
  /** Set: every upstream call goes through one SSH connection. Unset: plain HTTP. */
  ssh: SshSettings | undefined;
  upstreamTimeoutMs: number;
  logLevel: string;
  /**
   * The `Host` names the gateway answers (lower case, no port; IPv6 in brackets): the loopback
   * names, the address it listens on, and GATEWAY_ALLOWED_HOSTS. Any other is 421 (DNS rebinding).
   */
  allowedHosts: string[];
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
const HOST_NAME =
  /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$|^\[[0-9a-f:.]+\]$/;

/** How a listen address is written in a Host header; nothing for a wildcard, which no client sends. */
function hostOfListenAddress(address: string): string[] {
  const lower = address.toLowerCase();
  if (lower === '0.0.0.0' || lower === '::' || lower === '[::]') return [];
  return [lower.includes(':') && !lower.startsWith('[') ? `[${lower}]` : lower];
}

const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

/** An upstream's base URL: the gateway adds each route's path itself and speaks plain HTTP inside the tunnel. */
const upstreamUrl = (fallback: string) =>
  z
    .string()
    .trim()
    .default(fallback)
    .refine(
      (value) => {
        try {
          const url = new URL(value);
          return url.protocol === 'http:' && (url.pathname === '/' || url.pathname === '') && !url.search;
        } catch {
          return false;
        }
      },
      { error: `must be an http:// URL without a path, e.g. ${fallback}` },
    );

const schema = z
  .object({
    GATEWAY_HOST: z.string().trim().min(1).default('127.0.0.1'),
    GATEWAY_PORT: portFromEnv.default(8001),
    ORCHESTRATOR_URL: upstreamUrl('http://127.0.0.1:8000'),
    ORCHESTRATOR_SOCKET: optionalText,
    ORCHESTRATOR_TOKEN: optionalText,
    PROXY_URL: upstreamUrl('http://127.0.0.1:8003'),
    PROXY_SOCKET: optionalText,
    PROXY_TOKEN: optionalText,
    SSH_HOST: optionalText,
    SSH_PORT: portFromEnv.min(1).default(22),
    SSH_USER: optionalText,
    SSH_KEY_PATH: optionalText,
    SSH_KNOWN_HOSTS_PATH: optionalText,
    SSH_KEEPALIVE_MS: durationMsFromEnv.default(15_000),
    UPSTREAM_TIMEOUT_MS: durationMsFromEnv.default(30_000),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Extra `Host` names to answer, comma-separated (a name the laptop gives the gateway). */
    GATEWAY_ALLOWED_HOSTS: z
      .string()
      .default('')
      .transform((value) =>
        value
          .split(',')
          .map((name) => name.trim().toLowerCase())
          .filter((name) => name !== ''),
      )
      .pipe(
        z.array(
          z
            .string()
            .regex(
              HOST_NAME,
              'must be comma-separated host names (no port), such as gateway.lan or [fd00::1]',
            ),
        ),
      ),
  })
  .superRefine((env, ctx) => {
    if (env.SSH_HOST === undefined) return;
    for (const name of ['SSH_USER', 'SSH_KEY_PATH', 'SSH_KNOWN_HOSTS_PATH'] as const) {
      if (env[name] === undefined) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'is required when SSH_HOST is set' });
      }
    }
  })
  .transform((env): GatewayConfig => {
    const { SSH_HOST, SSH_USER, SSH_KEY_PATH, SSH_KNOWN_HOSTS_PATH } = env;
    return {
      host: env.GATEWAY_HOST,
      port: env.GATEWAY_PORT,
      orchestratorUrl: env.ORCHESTRATOR_URL.replace(/\/+$/, ''),
      orchestratorSocket: env.ORCHESTRATOR_SOCKET,
      orchestratorToken: env.ORCHESTRATOR_TOKEN,
      proxyUrl: env.PROXY_URL.replace(/\/+$/, ''),
      proxySocket: env.PROXY_SOCKET,
      proxyToken: env.PROXY_TOKEN ?? env.ORCHESTRATOR_TOKEN,
      ssh:
        SSH_HOST !== undefined &&
        SSH_USER !== undefined &&
        SSH_KEY_PATH !== undefined &&
        SSH_KNOWN_HOSTS_PATH !== undefined
          ? {
              host: SSH_HOST,
              port: env.SSH_PORT,
              user: SSH_USER,
              keyPath: SSH_KEY_PATH,
              knownHostsPath: SSH_KNOWN_HOSTS_PATH,
              keepaliveMs: env.SSH_KEEPALIVE_MS,
            }
          : undefined,
      upstreamTimeoutMs: env.UPSTREAM_TIMEOUT_MS,
      logLevel: env.LOG_LEVEL,
      allowedHosts: [
        ...new Set([
          ...LOOPBACK_NAMES,
          ...hostOfListenAddress(env.GATEWAY_HOST),
          ...env.GATEWAY_ALLOWED_HOSTS,
        ]),
      ],
    };
  });

export function parseGatewayConfig(env: Readonly<Record<string, string | undefined>>): GatewayConfig {
  return parseConfig('gateway', schema, env);
}

/** The only read of process.env in the gateway. */
export function loadGatewayConfig(): GatewayConfig {
  return parseGatewayConfig(process.env);
}
