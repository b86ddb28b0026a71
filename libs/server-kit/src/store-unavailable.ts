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
    error.message.startsWith('LOADING ')
  );
}

export const STORE_UNAVAILABLE_MESSAGE =
  'The control plane cannot reach its record store (Redis) right now; retry in a few seconds';
