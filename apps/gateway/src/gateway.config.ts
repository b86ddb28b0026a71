import { readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import {
  booleanFromEnv,
  durationMsFromEnv,
  logFormatFromEnv,
  parseConfig,
  portFromEnv,
} from '@aiplane/config';
import { resolveSshHost, type ResolvedSshHost, type SshHop } from './transport/ssh-host.resolver';
import type { PassphraseSource, SshEndpoint } from './transport/ssh.types';

export interface SshSettings extends SshEndpoint {
  /** ProxyJump hosts, first hop first. */
  jumps: SshEndpoint[];
  knownHostsPath: string;
  keepaliveMs: number;
  passphrase: PassphraseSource;
  /** Where the login node the gateway first reached is pinned; undefined: SSH_PIN_NODE=false. */
  pinPath: string | undefined;
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
  logFormat: 'json' | 'pretty';
  /**
   * The `Host` names the gateway answers (lower case, no port; IPv6 in brackets): the loopback
   * names, the address it listens on, and GATEWAY_ALLOWED_HOSTS. Any other is 421 (DNS rebinding).
   */
  allowedHosts: string[];
  /** The dashboard's built files (index.html and assets/), served at /ui/. */
  dashboardDir: string;
}

/**
 * Where `npm run build` puts the dashboard: dist/apps/dashboard of the checkout this gateway runs
 * from, whatever the working directory. Compiled, this file sits in dist/apps/gateway/src; under
 * jest it is the source in apps/gateway/src, and both lead back to the same checkout.
 */
function defaultDashboardDir(): string {
  const above = resolve(__dirname, '..', '..', '..');
  const root = basename(above) === 'dist' ? dirname(above) : above;
  return join(root, 'dist', 'apps', 'dashboard');
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

const baseSchema = z.object({
  GATEWAY_HOST: z.string().trim().min(1).default('127.0.0.1'),
  GATEWAY_PORT: portFromEnv.default(8001),
  ORCHESTRATOR_URL: upstreamUrl('http://127.0.0.1:8000'),
  ORCHESTRATOR_SOCKET: optionalText,
  ORCHESTRATOR_TOKEN: optionalText,
  PROXY_URL: upstreamUrl('http://127.0.0.1:8003'),
  PROXY_SOCKET: optionalText,
  PROXY_TOKEN: optionalText,
  SSH_HOST: optionalText,
  /** Unset: the config's Port for SSH_HOST, else 22. */
  SSH_PORT: z.preprocess(
    (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
    portFromEnv.min(1).optional(),
  ),
  SSH_USER: optionalText,
  SSH_KEY_PATH: optionalText,
  SSH_KNOWN_HOSTS_PATH: optionalText,
  /** OpenSSH's client config; unset: ~/.ssh/config when it exists; `none`: read none. */
  SSH_CONFIG_PATH: optionalText,
  SSH_AUTH_SOCK: optionalText,
  SSH_KEY_PASSPHRASE: z.string().optional(),
  SSH_KEY_PASSPHRASE_FILE: optionalText,
  SSH_PIN_NODE: z.preprocess(
    (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
    booleanFromEnv.default(true),
  ),
  GATEWAY_STATE_DIR: optionalText,
  HOME: optionalText,
  XDG_STATE_HOME: optionalText,
  SSH_KEEPALIVE_MS: durationMsFromEnv.default(15_000),
  UPSTREAM_TIMEOUT_MS: durationMsFromEnv.default(30_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `json` (default) or `pretty`: one coloured line per entry, for a terminal. */
  LOG_FORMAT: logFormatFromEnv,
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
          .regex(HOST_NAME, 'must be comma-separated host names (no port), such as gateway.lan or [fd00::1]'),
      ),
    ),
  /** The built dashboard; unset: this checkout's dist/apps/dashboard. */
  GATEWAY_DASHBOARD_DIR: optionalText,
});

const schema = baseSchema.transform((env, ctx): GatewayConfig => {
  const ssh = env.SSH_HOST === undefined ? undefined : sshSettings(env.SSH_HOST, env, ctx);
  return {
    host: env.GATEWAY_HOST,
    port: env.GATEWAY_PORT,
    orchestratorUrl: env.ORCHESTRATOR_URL.replace(/\/+$/, ''),
    orchestratorSocket: env.ORCHESTRATOR_SOCKET,
    orchestratorToken: env.ORCHESTRATOR_TOKEN,
    proxyUrl: env.PROXY_URL.replace(/\/+$/, ''),
    proxySocket: env.PROXY_SOCKET,
    proxyToken: env.PROXY_TOKEN ?? env.ORCHESTRATOR_TOKEN,
    ssh,
    upstreamTimeoutMs: env.UPSTREAM_TIMEOUT_MS,
    logLevel: env.LOG_LEVEL,
    logFormat: env.LOG_FORMAT,
    allowedHosts: [
      ...new Set([...LOOPBACK_NAMES, ...hostOfListenAddress(env.GATEWAY_HOST), ...env.GATEWAY_ALLOWED_HOSTS]),
    ],
    dashboardDir: resolve(env.GATEWAY_DASHBOARD_DIR ?? defaultDashboardDir()),
  };
});

type ParsedEnv = z.output<typeof baseSchema>;
type Context = z.RefinementCtx;

function readSshConfig(env: ParsedEnv, ctx: Context): { text: string | undefined; path: string | undefined } {
  const explicit = env.SSH_CONFIG_PATH;
  if (explicit?.toLowerCase() === 'none') return { text: undefined, path: undefined };
  const path = explicit ?? (env.HOME === undefined ? undefined : join(env.HOME, '.ssh', 'config'));
  if (path === undefined) return { text: undefined, path: undefined };
  try {
    return { text: readFileSync(path, 'utf8'), path };
  } catch (error: unknown) {
    // The default file is optional, as for ssh; one the user named must be there.
    if (explicit === undefined && (error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { text: undefined, path: undefined };
    }
    ctx.addIssue({
      code: 'custom',
      path: ['SSH_CONFIG_PATH'],
      message: `cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`,
    });
    return { text: undefined, path: undefined };
  }
}

function endpoint(hop: SshHop, user: string, env: ParsedEnv, required: boolean): SshEndpoint {
  return {
    alias: hop.alias,
    host: hop.host,
    port: hop.port,
    username: user,
    keyPaths: hop.identityFiles,
    keyPathsRequired: required,
    agentSocket: hop.identityAgent === null ? undefined : (hop.identityAgent ?? env.SSH_AUTH_SOCK),
  };
}

/** SSH_* over what `~/.ssh/config` says for SSH_HOST, as ssh's flags win over its config. */
function sshSettings(alias: string, env: ParsedEnv, ctx: Context): SshSettings | undefined {
  const config = readSshConfig(env, ctx);
  const from = config.path === undefined ? '' : ` (or set in ${config.path})`;
  let resolved: ResolvedSshHost;
  try {
    resolved = resolveSshHost(alias, config.text, env.HOME, {
      user: env.SSH_USER,
      port: env.SSH_PORT,
      keyPath: env.SSH_KEY_PATH,
    });
  } catch (error: unknown) {
    ctx.addIssue({
      code: 'custom',
      path: ['SSH_CONFIG_PATH'],
      message: `${config.path ?? 'SSH config'}: ${error instanceof Error ? error.message : String(error)}`,
    });
    return undefined;
  }
  const target = endpoint(resolved, resolved.user ?? '', env, env.SSH_KEY_PATH !== undefined);
  const problems: [string, string][] = [];
  if (resolved.user === undefined) problems.push(['SSH_USER', `is required when SSH_HOST is set${from}`]);
  if (target.keyPaths.length === 0 && target.agentSocket === undefined) {
    problems.push([
      'SSH_KEY_PATH',
      `is required when SSH_HOST is set, unless an ssh-agent is given in SSH_AUTH_SOCK${from}`,
    ]);
  }
  const knownHostsPath =
    env.SSH_KNOWN_HOSTS_PATH ?? (env.HOME === undefined ? undefined : join(env.HOME, '.ssh', 'known_hosts'));
  if (knownHostsPath === undefined) {
    problems.push(['SSH_KNOWN_HOSTS_PATH', 'is required when SSH_HOST is set and HOME is not']);
  }
  const stateDir =
    env.GATEWAY_STATE_DIR ??
    env.XDG_STATE_HOME?.concat('/aiplane') ??
    (env.HOME === undefined ? undefined : join(env.HOME, '.local', 'state', 'aiplane'));
  if (env.SSH_PIN_NODE && stateDir === undefined) {
    problems.push([
      'GATEWAY_STATE_DIR',
      'is required to pin the login node when HOME is not set (or set SSH_PIN_NODE=false)',
    ]);
  }
  for (const [name, message] of problems) ctx.addIssue({ code: 'custom', path: [name], message });
  if (resolved.user === undefined || knownHostsPath === undefined || problems.length > 0) return undefined;
  return {
    ...target,
    // A jump host without a User of its own logs in as the same person.
    jumps: resolved.jumps.map((jump) => endpoint(jump, jump.user ?? target.username, env, false)),
    knownHostsPath,
    keepaliveMs: env.SSH_KEEPALIVE_MS,
    passphrase: { file: env.SSH_KEY_PASSPHRASE_FILE, value: env.SSH_KEY_PASSPHRASE },
    pinPath: env.SSH_PIN_NODE && stateDir !== undefined ? join(stateDir, 'ssh-pins.json') : undefined,
  };
}

export function parseGatewayConfig(env: Readonly<Record<string, string | undefined>>): GatewayConfig {
  return parseConfig('gateway', schema, env);
}

/** The only read of process.env in the gateway. */
export function loadGatewayConfig(): GatewayConfig {
  return parseGatewayConfig(process.env);
}
