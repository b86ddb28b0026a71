export type SchedulerErrorCode = 'UNAVAILABLE' | 'REJECTED' | 'NOT_FOUND' | 'PARSE';

/**
 * UNAVAILABLE is worth retrying (controller down, timeout, binary missing); REJECTED is the
 * scheduler saying no (bad partition, permission) and will say no again; PARSE means output this
 * adapter does not understand, which is a bug or an unsupported scheduler version.
 */
export class SchedulerError extends Error {
  override readonly name = 'SchedulerError';

  constructor(
    readonly code: SchedulerErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get retryable(): boolean {
    return this.code === 'UNAVAILABLE';
  }
}

export function isSchedulerError(error: unknown, code?: SchedulerErrorCode): error is SchedulerError {
  return error instanceof SchedulerError && (code === undefined || error.code === code);
}
