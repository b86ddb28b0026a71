import { InvalidArgumentError } from 'commander';

/**
 * A host as ssh takes it: an alias from ~/.ssh/config, a name or an address, optionally `user@`.
 * Anything starting with `-` would be read by ssh as an option, and whitespace or quotes would be
 * split or interpreted by the shells on the way, so both are refused before anything runs.
 */
export function parseSshHost(value: string): string {
  const host = value.trim();
  if (host === '') throw new InvalidArgumentError('give the login node: an ~/.ssh/config alias or user@host');
  if (host.startsWith('-')) {
    throw new InvalidArgumentError(`"${host}" starts with "-": give a host name or alias, not an ssh option`);
  }
  if (!/^[A-Za-z0-9._%+-]+(@[A-Za-z0-9._-]+)?$/.test(host)) {
    throw new InvalidArgumentError(
      `"${host}" is not a host ssh can take: use letters, digits and . _ - (an alias from ~/.ssh/config, ` +
        'a host name, or user@host; set the port with Port in ~/.ssh/config)',
    );
  }
  return host;
}

/** The local gateway's TCP port. */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new InvalidArgumentError(`"${value}" is not a TCP port: give a number from 1 to 65535, e.g. 8001`);
  }
  return port;
}

/** How long to wait for the cluster side, in seconds. */
export function parseTimeoutSeconds(value: string): number {
  const seconds = Number(value);
  if (!/^\d+$/.test(value.trim()) || seconds < 1 || seconds > 3_600) {
    throw new InvalidArgumentError(`"${value}" is not a timeout: give whole seconds from 1 to 3600`);
  }
  return seconds;
}

/** A SLURM partition name, as `sbatch --partition` takes it. */
export function parsePartition(value: string): string {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(value)) {
    throw new InvalidArgumentError(
      `"${value}" is not a SLURM partition name: letters, digits and . _ - only (see \`sinfo -s\` on the node)`,
    );
  }
  return value;
}

/** A path on the login node (e.g. redis-server's): absolute, and free of anything a shell would expand. */
export function parseRemotePath(value: string): string {
  if (!/^\/[A-Za-z0-9._/+-]+$/.test(value)) {
    throw new InvalidArgumentError(
      `"${value}" is not an absolute path on the login node, or holds characters other than letters, digits and . _ / + -`,
    );
  }
  return value;
}

/** The part of `user@host` the gateway's SSH_HOST takes (the user goes in SSH_USER). */
export function hostPart(host: string): string {
  const at = host.lastIndexOf('@');
  return at < 0 ? host : host.slice(at + 1);
}

/** One argument for a POSIX shell, in single quotes. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
