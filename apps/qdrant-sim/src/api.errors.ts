// Qdrant answers every failure as `{"status":{"error":"<message>"},"time":<seconds>}`; the message prefix tells the
// kind of StorageError behind it, and clients (the official ones included) match on those prefixes.

export type ApiErrorCode =
  | 'BAD_INPUT'
  | 'ALREADY_EXISTS'
  | 'NOT_FOUND'
  | 'FORMAT'
  | 'VALIDATION'
  | 'FORBIDDEN'
  | 'PAYLOAD_TOO_LARGE'
  | 'INTERNAL';

/** An error answered with Qdrant's error envelope; `status` is the HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    /** Qdrant's request-parsing errors are built before timing starts and report `time: 0`. */
    readonly timed = true,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  static badInput(description: string): ApiError {
    return new ApiError(400, 'BAD_INPUT', `Wrong input: ${description}`);
  }

  static alreadyExists(description: string): ApiError {
    return new ApiError(409, 'ALREADY_EXISTS', `Wrong input: ${description}`);
  }

  static notFound(description: string): ApiError {
    return new ApiError(404, 'NOT_FOUND', `Not found: ${description}`);
  }

  static collectionNotFound(name: string): ApiError {
    return ApiError.notFound(`Collection \`${name}\` doesn't exist!`);
  }

  /** serde could not read the body (bad JSON, wrong type, missing field). */
  static format(where: string, description: string): ApiError {
    return new ApiError(400, 'FORMAT', `Format error in ${where}: ${description}`, false);
  }

  /** The body parsed but a `validator` rule failed (a range, a length). */
  static validation(where: string, problems: string[]): ApiError {
    return new ApiError(422, 'VALIDATION', `Validation error in ${where}: [${problems.join(', ')}]`, false);
  }

  static forbidden(description: string): ApiError {
    return new ApiError(403, 'FORBIDDEN', `Forbidden: ${description}`);
  }

  static internal(description: string): ApiError {
    return new ApiError(500, 'INTERNAL', `Service internal error: ${description}`);
  }
}
