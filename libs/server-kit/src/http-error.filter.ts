import { ArgumentsHost, Catch, HttpException, HttpStatus, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import type { ErrorBody } from '@aiplane/contracts';
import { AppError } from './errors';
import { currentRequestId } from './request-context';
import { isStoreUnavailable, STORE_RETRY_AFTER_S, storeUnavailableMessage } from './store-unavailable';
import type { Logger } from './logging';

const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

function messageOf(response: unknown, fallback: string): string {
  if (typeof response === 'string') return response;
  if (response && typeof response === 'object' && 'message' in response) {
    const message = response.message;
    if (Array.isArray(message)) return message.map(String).join('; ');
    if (typeof message === 'string') return message;
  }
  return fallback;
}

/** Maps any error to the contract's error body; unknown errors are logged and never leak details. */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    let status: number = HttpStatus.INTERNAL_SERVER_ERROR;
    let message = 'Internal server error; the request id identifies it in the logs';
    let extra: Record<string, unknown> = {};
    let retryAfterS: number | undefined;
    if (exception instanceof AppError) {
      status = exception.status;
      message = exception.message;
      extra = exception.details;
      retryAfterS = exception.retryAfterS;
    } else if (exception instanceof HttpException) {
      status = exception.getStatus();
      message = messageOf(exception.getResponse(), exception.message);
    } else if (isClientHttpError(exception)) {
      status = exception.status;
      message = clientErrorMessage(exception);
    } else if (isStoreUnavailable(exception)) {
      status = HttpStatus.SERVICE_UNAVAILABLE;
      message = storeUnavailableMessage(exception);
      retryAfterS = STORE_RETRY_AFTER_S;
      this.logger.warn({ err: exception }, 'record store unreachable');
    } else {
      this.logger.error({ err: exception }, 'unhandled error');
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    // `success: false` serves data-plane clients, which the contract promises that envelope.
    const body: ErrorBody & Record<string, unknown> = {
      success: false,
      statusCode: status,
      error: REASONS[status] ?? 'Error',
      message,
      ...extra,
    };
    const requestId = currentRequestId();
    if (requestId) body.request_id = requestId;
    if (retryAfterS !== undefined) res.setHeader('retry-after', String(Math.max(1, Math.ceil(retryAfterS))));
    res.status(status).json(body);
  }
}

interface ClientHttpError {
  status: number;
  message: string;
  type?: unknown;
  limit?: unknown;
  errno?: unknown;
}

/**
 * Errors from body-parser and Express's router (http-errors): a 4xx the client caused. Some carry no
 * `type` (a body sent with `Content-Encoding: gzip` that is not gzip), but all of them are `expose`d.
 */
function isClientHttpError(error: unknown): error is Error & ClientHttpError {
  if (!(error instanceof Error)) return false;
  const { status, type, expose } = error as { status?: unknown; type?: unknown; expose?: unknown };
  return (
    typeof status === 'number' &&
    status >= 400 &&
    status < 500 &&
    (typeof type === 'string' || expose === true)
  );
}

function clientErrorMessage(error: ClientHttpError): string {
  switch (error.type) {
    case 'entity.too.large':
      return `Request body is larger than the ${String(error.limit)} byte limit`;
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return `Request body cannot be read: ${error.message}`;
    case undefined:
      // zlib's errors carry an errno; the router's ("Failed to decode param") already say what is wrong.
      return typeof error.errno === 'number'
        ? `Request body does not match its Content-Encoding: ${error.message}`
        : error.message;
    default:
      return `Request body cannot be read: ${error.message}`;
  }
}
