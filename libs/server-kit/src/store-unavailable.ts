/**
 * Whether an error of the Redis client means the store cannot be reached right now (down,
 * restarting, still loading its data) rather than that the request was wrong. Such a request may
 * well succeed in a moment, so it is a 503, not a 500. Matched by name and wording: ioredis does not
 * export its error classes.
 */
export function isStoreUnavailable(error: unknown): error is Error {
  if (!(error instanceof Error)) return false;
  return (
    // Every reconnection attempt of the command failed (createRedis allows two).
    error.name === 'MaxRetriesPerRequestError' ||
    // A command on a connection that was closed under it.
    error.message === 'Connection is closed.' ||
    // Redis answers this while it replays its append-only file after a restart.
    error.message.startsWith('LOADING ') ||
    refusedWrite(error) !== undefined
  );
}

type WriteRefusal = 'OOM' | 'READONLY' | 'MISCONF';

/**
 * A write Redis refused as a whole (so nothing of it landed): out of memory under `noeviction`, a
 * replica, or a failed background save with `stop-writes-on-bgsave-error`. A script fails with
 * the same words after an `ERR ... script:` preamble in some versions, hence the search.
 */
function refusedWrite(error: Error): WriteRefusal | undefined {
  const match = /(?:^|\s|-)(OOM|READONLY|MISCONF) /.exec(error.message);
  return match?.[1] as WriteRefusal | undefined;
}

/** Seconds a client is told to wait before retrying a request the store could not serve. */
export const STORE_RETRY_AFTER_S = 5;

const REFUSAL_MESSAGES: Readonly<Record<WriteRefusal, string>> = {
  OOM: "The control plane's record store (Redis) is out of memory and refuses writes; nothing was changed. Retry later; its operator must free memory or raise maxmemory",
  READONLY:
    "The control plane's record store (Redis) is a read-only replica right now and refuses writes; nothing was changed. Retry in a few seconds",
  MISCONF:
    "The control plane's record store (Redis) cannot save to disk and refuses writes; nothing was changed. Retry later; its operator must fix its persistence",
};

/** What a client is told about a store error `isStoreUnavailable` accepted. */
export function storeUnavailableMessage(error: Error): string {
  const refusal = refusedWrite(error);
  return refusal === undefined ? STORE_UNAVAILABLE_MESSAGE : REFUSAL_MESSAGES[refusal];
}

export const STORE_UNAVAILABLE_MESSAGE =
  'The control plane cannot reach its record store (Redis) right now; retry in a few seconds';
