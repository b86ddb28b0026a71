import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { SchedulerError } from './scheduler.errors';

// Job directories are read back by the control plane and written by jobs: a symlink or FIFO found
// in place of a file the scheduler writes is never followed (it could point at ~/.bashrc) nor
// waited on (O_NONBLOCK makes opening a FIFO without reader fail with ENXIO).

/**
 * Writes the batch script without following a symlink or blocking on a FIFO planted in its place
 * (O_NONBLOCK makes a FIFO without reader fail with ENXIO), and only into a regular file.
 */
export async function writeJobScript(scriptPath: string, script: string): Promise<void> {
  const flags =
    constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW | constants.O_NONBLOCK;
  let handle;
  try {
    handle = await open(scriptPath, flags, 0o700);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENXIO')
      throw new SchedulerError(
        'REJECTED',
        `${scriptPath} is a symbolic link or a FIFO; refusing to write it`,
      );
    throw error;
  }
  try {
    if (!(await handle.stat()).isFile())
      throw new SchedulerError('REJECTED', `${scriptPath} is not a regular file; refusing to write it`);
    await handle.writeFile(script);
    // The open's mode applies only to a new file and is reduced by the umask.
    await handle.chmod(0o700);
  } finally {
    await handle.close();
  }
}

/** A job's stdout or stderr, opened for appending under the same rules; returns the descriptor. */
export function openJobLog(file: string): number {
  const flags =
    constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK;
  let fd: number;
  try {
    fd = openSync(file, flags, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENXIO')
      throw new SchedulerError('REJECTED', `${file} is a symbolic link or a FIFO; refusing to write it`);
    throw error;
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new SchedulerError('REJECTED', `${file} is not a regular file; refusing to write it`);
  }
  return fd;
}
