export type RedisSafetyProblem =
  | 'REDIS_NO_AUTH'
  | 'REDIS_AUTH_FAILED'
  | 'REDIS_UNREACHABLE'
  | 'REDIS_EVICTION_POLICY'
  | 'REDIS_POLICY_UNKNOWN';

/** Why an app refuses to start against its Redis; the message names the override when there is one. */
export class RedisSafetyError extends Error {
  constructor(
    readonly code: RedisSafetyProblem,
    message: string,
  ) {
    super(message);
  }
}
