import { lstatSync, mkdirSync, renameSync, writeFileSync, type Stats } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * sun_path holds 108 bytes on Linux, one of them the terminating NUL. A longer path is silently
 * truncated by some callers and refused by others, so it is refused here, by name.
 */
export const SOCKET_PATH_MAX_BYTES = 107;

export class RuntimeDirError extends Error {
  readonly code = 'RUNTIME_DIR_UNSAFE';
}

/**
 * Where a user's cluster-side processes keep their sockets and connection file: the session's
 * private runtime directory when there is one, else under the home directory. Never /tmp, where
 * another user could create the directory first.
 */
export function defaultRuntimeDir(env: { XDG_RUNTIME_DIR?: string; HOME?: string }): string {
  if (env.XDG_RUNTIME_DIR) return path.join(env.XDG_RUNTIME_DIR, 'aiplane');
  return path.join(env.HOME ?? os.homedir(), '.aiplane', 'run');
}

function uid(): number {
  return process.getuid?.() ?? -1;
}

function describeMode(stats: Stats): string {
  return (stats.mode & 0o777).toString(8).padStart(4, '0');
}

/**
 * Creates `dir` (0700) or checks the one there: a directory (not a symlink to one), owned by this
 * user, that nobody else can enter. One others could write is refused even after a chmod: they
 * may already have planted something in it.
 */
export function ensurePrivateDir(dir: string): string {
  const absolute = path.resolve(dir);
  mkdirSync(absolute, { recursive: true, mode: 0o700 });
  const stats = lstatSync(absolute);
  if (stats.isSymbolicLink() || !stats.isDirectory()) {
    throw new RuntimeDirError(`${absolute} must be a directory, not a symlink or a file`);
  }
  if (stats.uid !== uid()) {
    throw new RuntimeDirError(
      `${absolute} belongs to uid ${String(stats.uid)}, not to this user (uid ${String(uid())}): refusing to keep sockets or tokens there`,
    );
  }
  if ((stats.mode & 0o022) !== 0) {
    throw new RuntimeDirError(
      `${absolute} is writable by other users (mode ${describeMode(stats)}): refusing it; remove it or chmod 700 it after checking its contents`,
    );
  }
  // Never chmod'ed here: a mistyped path (a home directory, /) must not have its mode changed.
  if ((stats.mode & 0o077) !== 0) {
    throw new RuntimeDirError(
      `${absolute} is open to other users (mode ${describeMode(stats)}): chmod 700 it, or choose another directory`,
    );
  }
  return absolute;
}

/** The path of socket `name` in `dir`, or a clear refusal when it would not fit in sun_path. */
export function socketPathIn(dir: string, name: string): string {
  const socketPath = path.join(path.resolve(dir), name);
  const bytes = Buffer.byteLength(socketPath);
  if (bytes > SOCKET_PATH_MAX_BYTES) {
    throw new RuntimeDirError(
      `the socket path ${socketPath} is ${String(bytes)} bytes, over the ${String(SOCKET_PATH_MAX_BYTES)}-byte limit of a Unix socket path: choose a shorter runtime directory`,
    );
  }
  return socketPath;
}

/** Writes `content` readable by this user only, replacing the file whole so no reader sees half of it. */
export function writePrivateFile(file: string, content: string): void {
  const temporary = `${file}.${String(process.pid)}.tmp`;
  writeFileSync(temporary, content, { mode: 0o600, flag: 'wx' });
  renameSync(temporary, file);
}
