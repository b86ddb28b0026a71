/** One pending job as the queue computation needs it: any user's, not only ours. */
export interface PendingJob {
  /** As squeue prints it: `123`, an array's `123_4` or `123_[5-9]`, a heterogeneous job's `123+0`. */
  jobId: string;
  /** A job pending in several partitions (`a,b`) waits in each of them. */
  partitions: readonly string[];
  priority: number;
}

/**
 * Each wanted job's place among the pending jobs sharing a partition with it, 1 being the next to
 * start. SLURM's main scheduler tries pending jobs in priority order, ties going to the earlier
 * submission (the lower job id), so that is the order here. It is the queue as squeue shows it:
 * a job another user's reservation or backfill starts first can still overtake, which is why the
 * estimate travels beside the position.
 */
export function queuePositions(
  pending: readonly PendingJob[],
  wanted: Iterable<string>,
): Map<string, number> {
  const byId = new Map(pending.map((job) => [job.jobId, job]));
  const positions = new Map<string, number>();
  for (const id of wanted) {
    const job = byId.get(id);
    if (!job) continue;
    const shares = new Set(job.partitions);
    let ahead = 0;
    for (const other of pending) {
      if (other === job || !other.partitions.some((partition) => shares.has(partition))) continue;
      if (startsBefore(other, job)) ahead += 1;
    }
    positions.set(id, ahead + 1);
  }
  return positions;
}

function startsBefore(a: PendingJob, b: PendingJob): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  return compareJobIds(a.jobId, b.jobId) < 0;
}

/** Numeric on the leading job id (ids outgrow string order), then on the rest (`_4`, `+0`). */
function compareJobIds(a: string, b: string): number {
  const [baseA, restA] = splitId(a);
  const [baseB, restB] = splitId(b);
  if (baseA !== baseB) return baseA < baseB ? -1 : 1;
  return restA.localeCompare(restB, 'en', { numeric: true });
}

function splitId(id: string): [bigint, string] {
  const digits = /^\d+/.exec(id)?.[0] ?? '0';
  return [BigInt(digits), id.slice(digits.length)];
}
