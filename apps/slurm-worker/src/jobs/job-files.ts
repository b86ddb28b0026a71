import * as path from 'node:path';
import { readPrivateFile, UnsafePathError } from '@aiplane/server-kit';

// Written by the batch script's prelude; anything else in the file means it was not ours.
const ENDPOINT = /^https?:\/\/[A-Za-z0-9.-]{1,253}:[0-9]{1,5}$/;

/** A file the job writes; a symlink, FIFO or other file in its place counts as absent. */
async function readSmall(file: string): Promise<string | undefined> {
  try {
    return (await readPrivateFile(file, 1024))?.toString('utf8').trim();
  } catch (error) {
    if (error instanceof UnsafePathError) return undefined;
    throw error;
  }
}

/** The endpoint the job (or its replica `replica`) bound, once the script has picked a free port. */
export async function readEndpoint(jobDir: string, replica?: number): Promise<string | undefined> {
  const text = await readSmall(path.join(jobDir, replica === undefined ? 'endpoint' : `endpoint.${replica}`));
  return text !== undefined && ENDPOINT.test(text) ? text : undefined;
}

/** The batch script's exit status, written by its EXIT trap. */
export async function readExitCode(jobDir: string): Promise<number | undefined> {
  const text = await readSmall(path.join(jobDir, 'exit_code'));
  return text !== undefined && /^[0-9]{1,3}$/.test(text) ? Number(text) : undefined;
}
