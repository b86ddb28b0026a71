import { constants, promises as fs, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { UnsafePathError } from './private-files.errors';

// On a shared login node anyone who can write into a directory the control plane reads can plant a
// symlink (stdout.log -> ~/.ssh/id_ed25519) or a FIFO (a read that never returns). These helpers
// keep such directories the user's own and never follow or block on what is inside them.

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

function ownUid(): number | undefined {
  return typeof process.getuid === 'function' ? process.getuid() : undefined;
}

function describe(stats: Stats): string {
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * Opens a file for reading only if it is a regular file of this user, never following a symlink
 * and never blocking on a FIFO; undefined when it does not exist. The caller closes the handle.
 */
export async function openPrivateFile(file: string): Promise<FileHandle | undefined> {
  let handle: FileHandle;
  try {
    handle = await fs.open(file, READ_FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    // O_NOFOLLOW on a final symlink fails with ELOOP (EMLINK on some BSDs).
    if (code === 'ELOOP' || code === 'EMLINK')
      throw new UnsafePathError(file, 'symlink', `${file} is a symbolic link; it is not followed`);
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile())
      throw new UnsafePathError(file, 'not-regular', `${file} is ${describe(stats)}, not a regular file`);
    const uid = ownUid();
    if (uid !== undefined && stats.uid !== uid)
      throw new UnsafePathError(
        file,
        'foreign-owner',
        `${file} belongs to uid ${stats.uid}, not to this user`,
      );
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** The whole of a small private file, at most `maxBytes`; undefined when it does not exist. */
export async function readPrivateFile(file: string, maxBytes: number): Promise<Buffer | undefined> {
  const handle = await openPrivateFile(file);
  if (!handle) return undefined;
  try {
    const buffer = Buffer.alloc(maxBytes);
    const { bytesRead } = await handle.read(buffer, 0, maxBytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Creates `dir` (0700) if missing and checks that it is a directory this user owns and nobody else
 * can write; one readable by others is narrowed to 0700. A symlinked dir is judged by its target.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await makeDir(dir);
  const stats = await fs.stat(dir);
  checkDirectory(dir, stats);
  if ((stats.mode & 0o077) !== 0) await fs.chmod(dir, 0o700);
}

/**
 * Creates `dir` below `root` (0700 at each new level) and checks every level from `root` down:
 * a real directory of this user, not a symlink, that nobody else can write.
 */
export async function ensurePrivateSubdir(root: string, dir: string): Promise<void> {
  const relative = path.relative(root, dir);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative))
    throw new UnsafePathError(dir, 'not-directory', `${dir} is not below ${root}`);
  await makeDir(dir);
  let current = root;
  for (const part of relative.split(path.sep)) {
    current = path.join(current, part);
    const stats = await fs.lstat(current);
    if (stats.isSymbolicLink())
      throw new UnsafePathError(current, 'symlink', `${current} is a symbolic link; it is not followed`);
    checkDirectory(current, stats);
  }
}

// Something other than a directory in the way is reported by the checks that follow, by name.
async function makeDir(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTDIR') throw error;
  }
}

function checkDirectory(dir: string, stats: Stats): void {
  if (!stats.isDirectory())
    throw new UnsafePathError(dir, 'not-directory', `${dir} is ${describe(stats)}, not a directory`);
  const uid = ownUid();
  if (uid !== undefined && stats.uid !== uid)
    throw new UnsafePathError(
      dir,
      'foreign-owner',
      `${dir} belongs to uid ${stats.uid}, not to this user (uid ${uid}); use a directory of your own`,
    );
  if ((stats.mode & 0o022) !== 0)
    throw new UnsafePathError(
      dir,
      'shared-writable',
      `${dir} is writable by group or others (mode ${(stats.mode & 0o777).toString(8)}); ` +
        'other users could plant files in it: chmod 700 it or choose another',
    );
}
