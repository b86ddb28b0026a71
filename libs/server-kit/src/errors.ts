import { HttpStatus } from '@nestjs/common';

/**
 * Errors that know their HTTP meaning. Services throw these; the one exception filter per app
 * turns them into `{statusCode, error, message}` so no controller formats errors by hand.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    /** Sent as `Retry-After` (seconds): when the same request may succeed. */
    readonly retryAfterS?: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class BadRequestError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(HttpStatus.BAD_REQUEST, 'Bad Request', message, details);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message: string) {
    super(HttpStatus.UNAUTHORIZED, 'Unauthorized', message);
  }
}

export class NotFoundError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(HttpStatus.NOT_FOUND, 'Not Found', message, details);
  }
}

export class UnsupportedMediaTypeError extends AppError {
  constructor(message: string) {
    super(HttpStatus.UNSUPPORTED_MEDIA_TYPE, 'Unsupported Media Type', message);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(HttpStatus.CONFLICT, 'Conflict', message, details);
  }
}

export class UpstreamError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(HttpStatus.BAD_GATEWAY, 'Bad Gateway', message, details);
  }
}

export class UnavailableError extends AppError {
  constructor(message: string, details?: Record<string, unknown>, retryAfterS?: number) {
    super(HttpStatus.SERVICE_UNAVAILABLE, 'Service Unavailable', message, details, retryAfterS);
  }
}

/** The same key already named a request with another body: replaying it would hide the change. */
export class UnprocessableEntityError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(HttpStatus.UNPROCESSABLE_ENTITY, 'Unprocessable Entity', message, details);
  }
}

/** Over a quota: the request may succeed after `retryAfterS` seconds. */
export class TooManyRequestsError extends AppError {
  constructor(message: string, retryAfterS: number, details?: Record<string, unknown>) {
    super(HttpStatus.TOO_MANY_REQUESTS, 'Too Many Requests', message, details, retryAfterS);
  }
}

export class GatewayTimeoutError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(HttpStatus.GATEWAY_TIMEOUT, 'Gateway Timeout', message, details);
  }
}
