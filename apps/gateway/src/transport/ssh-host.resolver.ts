import SSHConfig from 'ssh-config';

/** One SSH server to log in to: the login node itself, or a jump host on the way. */
export interface SshHop {
  /** The name the user wrote (SSH_HOST or a ProxyJump entry), which `~/.ssh/config` may map. */
  alias: string;
  /** The DNS name or address to connect to; known_hosts is checked under this name, as OpenSSH does. */
  host: string;
  port: number;
  user: string | undefined;
  /** Private keys to offer, in order; files from the config that do not exist are skipped. */
  identityFiles: string[];
  /** `IdentityAgent` from the config: a socket path, or null for `none`; undefined: SSH_AUTH_SOCK. */
  identityAgent: string | null | undefined;
}

export interface ResolvedSshHost extends SshHop {
  /** ProxyJump hosts, first hop first; empty for a direct connection. */
  jumps: SshHop[];
}

/** What the environment says, which wins over the config file as ssh's command-line flags do. */
export interface SshOverrides {
  user?: string | undefined;
  port?: number | undefined;
  keyPath?: string | undefined;
}

export class SshConfigError extends Error {
  readonly code = 'SSH_CONFIG_INVALID';
}

type Computed = Record<string, string | string[]>;

function first(computed: Computed, key: string): string | undefined {
  const value = computed[key];
  return Array.isArray(value) ? value[0] : value;
}

function all(computed: Computed, key: string): string[] {
  const value = computed[key];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** The tokens OpenSSH expands in IdentityFile and IdentityAgent that make sense here. */
function expand(
  path: string,
  home: string | undefined,
  hop: { host: string; port: number; user?: string },
): string {
  const withTokens = path.replace(/%([%dhpr])/g, (whole, token: string) => {
    switch (token) {
      case '%':
        return '%';
      case 'd':
        return home ?? whole;
      case 'h':
        return hop.host;
      case 'p':
        return String(hop.port);
      default:
        return hop.user ?? whole;
    }
  });
  if (home !== undefined && (withTokens === '~' || withTokens.startsWith('~/'))) {
    return home + withTokens.slice(1);
  }
  return withTokens;
}

function port(text: string | undefined, where: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new SshConfigError(`${where}: port ${JSON.stringify(text)} is not a port number`);
  }
  return value;
}

/** `[user@]host[:port]` or `ssh://[user@]host[:port]`, one ProxyJump entry. */
function parseJump(entry: string): { alias: string; user?: string; port?: number } {
  const text = entry.replace(/^ssh:\/\//, '');
  const at = text.lastIndexOf('@');
  const user = at >= 0 ? text.slice(0, at) : undefined;
  const rest = at >= 0 ? text.slice(at + 1) : text;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  const plain = /^([^:]+)(?::(\d+))?$/.exec(rest);
  const match = bracketed ?? plain;
  if (!match?.[1])
    throw new SshConfigError(`ProxyJump entry ${JSON.stringify(entry)} is not [user@]host[:port]`);
  const jumpPort = port(match[2], `ProxyJump entry ${JSON.stringify(entry)}`);
  return {
    alias: match[1],
    ...(user ? { user } : {}),
    ...(jumpPort === undefined ? {} : { port: jumpPort }),
  };
}

function hop(
  config: SSHConfig | undefined,
  alias: string,
  home: string | undefined,
  overrides: SshOverrides,
): { hop: SshHop; computed: Computed } {
  // Match exec would run shell commands from the config inside the gateway: not evaluated.
  const computed: Computed = config?.compute(alias, { ignoreCase: true, matchExec: false }) ?? {};
  const host = first(computed, 'hostname') ?? alias;
  const user = overrides.user ?? first(computed, 'user');
  const hopPort = overrides.port ?? port(first(computed, 'port'), `~/.ssh/config Host ${alias}`) ?? 22;
  const where = { host, port: hopPort, ...(user ? { user } : {}) };
  const agent = first(computed, 'identityagent');
  return {
    hop: {
      alias,
      host: expand(host, home, where),
      port: hopPort,
      user,
      identityFiles:
        overrides.keyPath !== undefined
          ? [overrides.keyPath]
          : all(computed, 'identityfile').map((file) => expand(file, home, where)),
      identityAgent:
        agent === undefined
          ? undefined
          : agent.toLowerCase() === 'none'
            ? null
            : agent === 'SSH_AUTH_SOCK'
              ? undefined
              : expand(agent, home, where),
    },
    computed,
  };
}

/**
 * What `ssh <alias>` would connect to, from the text of `~/.ssh/config` (undefined: no config):
 * HostName, User, Port, IdentityFile, IdentityAgent and ProxyJump, with the first value winning as in
 * OpenSSH. Jump hosts are looked up in the same config; their own ProxyJump is not followed.
 */
export function resolveSshHost(
  alias: string,
  configText: string | undefined,
  home: string | undefined,
  overrides: SshOverrides = {},
): ResolvedSshHost {
  let config: SSHConfig | undefined;
  try {
    config = configText === undefined ? undefined : SSHConfig.parse(configText);
  } catch (error: unknown) {
    throw new SshConfigError(
      `cannot parse the SSH config: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const target = hop(config, alias, home, overrides);
  // Silently connecting straight to the host would bypass what the user set up, or fail obscurely.
  if (first(target.computed, 'proxycommand') !== undefined) {
    throw new SshConfigError(
      `Host ${alias} uses ProxyCommand, which the gateway does not run; use ProxyJump instead`,
    );
  }
  const jumpText = first(target.computed, 'proxyjump');
  const jumps =
    jumpText === undefined || jumpText.toLowerCase() === 'none'
      ? []
      : jumpText.split(',').map((entry) => {
          const jump = parseJump(entry.trim());
          return hop(config, jump.alias, home, { user: jump.user, port: jump.port }).hop;
        });
  return { ...target.hop, jumps };
}
