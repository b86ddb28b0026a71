import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isTerminalGroupStatus, isTerminalStatus, replicaIdOf } from '@aiplane/contracts';
import { storedReplicaPort, storedStatus, toGroupRecord, type RegistryEntry } from '@aiplane/registry';
import { openPrivateFile, UnsafePathError } from '@aiplane/server-kit';

/*
 * `logs?follow=true` (CONTRACT, "Logs follow"): what a job appends to its log files, streamed as it
 * is written. Files are polled, not watched: the job dir is on a shared filesystem on a cluster,
 * where inotify does not see what other nodes write.
 */

/** Open streams per orchestrator: each holds a poll loop and file reads. */
export const MAX_LOG_FOLLOWERS = 64;
/** How often the files are looked at while nothing new arrives. */
const FOLLOW_POLL_MS = 500;
/** At most this much of one file per look, so a flood is sent in pieces, never held whole. */
const FOLLOW_CHUNK_BYTES = 64 * 1024;
/** How often the record is read to see whether the job ended. */
const ENDED_CHECK_MS = 2_000;

export interface LogFile {
  heading: string;
  file: string;
}

/** The files a service's (or a group's) logs come from, under the contract's headings. */
export function logFilesOf(entry: RegistryEntry): LogFile[] {
  const jobs = entry.type === 'group' ? entry.jobs : [entry.service];
  const files: LogFile[] = [];
  for (const job of jobs) {
    // Only a group spread over several node jobs must say whose they are.
    const label = jobs.length > 1 ? ` (job ${job.job_id})` : '';
    // Only the files the job was told to write, inside its own directory.
    files.push({ heading: `=== STDOUT${label} ===`, file: path.join(job.job_dir, 'stdout.log') });
    files.push({ heading: `=== STDERR${label} ===`, file: path.join(job.job_dir, 'stderr.log') });
    for (const replica of job.replicas) {
      files.push({
        heading: `=== REPLICA ${replicaIdOf(job.job_id, storedReplicaPort(replica), replica.index)} ===`,
        file: path.join(job.job_dir, `replica-${replica.index}.log`),
      });
    }
  }
  return files;
}

/** The scheduler jobs an entry runs as now: a rollover or a wake changes them. */
export function jobIdsOf(entry: RegistryEntry): string {
  return (entry.type === 'group' ? entry.jobs : [entry.service]).map((job) => job.job_id).join(',');
}

/** Whether the entry's jobs are over: a terminal status, or stopped for idleness. */
export function entryEnded(entry: RegistryEntry): boolean {
  if (entry.type === 'group') {
    const status = toGroupRecord(entry).status;
    return status === 'idle' || isTerminalGroupStatus(status);
  }
  const status = storedStatus(entry.service);
  return status === 'idle' || isTerminalStatus(status);
}

/** A file's size now; 0 when it is not there (yet), or not one the job may have written. */
export async function sizeOf(file: string): Promise<number> {
  const handle = await openPrivateFile(file).catch(() => undefined);
  if (!handle) return 0;
  try {
    return (await handle.stat()).size;
  } finally {
    await handle.close();
  }
}

/** Up to FOLLOW_CHUNK_BYTES of `file` from `offset`, and where the next read starts. */
async function readFrom(file: string, offset: number): Promise<{ text: string; next: number }> {
  let handle;
  try {
    handle = await openPrivateFile(file);
  } catch (error) {
    if (error instanceof UnsafePathError) return { text: '', next: offset };
    throw error;
  }
  if (!handle) return { text: '', next: offset };
  try {
    const { size } = await handle.stat();
    // A file cut short (truncated, replaced) is read again from its start.
    const from = size < offset ? 0 : offset;
    const length = Math.min(size - from, FOLLOW_CHUNK_BYTES);
    if (length <= 0) return { text: '', next: from };
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, from);
    // Never split a character: stop after the last complete line, unless one line fills the chunk.
    const chunk = buffer.subarray(0, bytesRead);
    const end = chunk.lastIndexOf(0x0a);
    const kept = end < 0 && bytesRead === FOLLOW_CHUNK_BYTES ? chunk : chunk.subarray(0, end + 1);
    return { text: kept.toString('utf8'), next: from + kept.length };
  } finally {
    await handle.close();
  }
}

/**
 * Yields what is appended to `files` after `offsets`, each run under its file's heading when the
 * file differs from the last one written, until `ended()` says the job is over (after one last
 * read, so its final lines are sent) or `signal` aborts.
 */
export async function* followFiles(
  files: readonly LogFile[],
  offsets: number[],
  signal: AbortSignal,
  ended: () => Promise<boolean>,
): AsyncGenerator<string> {
  let last = -1;
  let checkedAt = Date.now();
  let finishing = false;
  while (!signal.aborted) {
    let wrote = false;
    for (const [index, { heading, file }] of files.entries()) {
      const { text, next } = await readFrom(file, offsets[index] ?? 0);
      offsets[index] = next;
      if (text === '') continue;
      wrote = true;
      yield index === last ? text : `${heading}\n${text}`;
      last = index;
    }
    if (wrote) continue;
    if (finishing) return;
    if (Date.now() - checkedAt >= ENDED_CHECK_MS) {
      checkedAt = Date.now();
      // One more pass once it ended: the lines it wrote last are then read.
      if (await ended()) finishing = true;
      if (finishing) continue;
    }
    await sleep(FOLLOW_POLL_MS, undefined, { signal }).catch(() => undefined);
  }
}
