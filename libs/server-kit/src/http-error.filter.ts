import { ArgumentsHost, Catch, HttpException, HttpStatus, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import type { ErrorBody } from '@aiplane/contracts';
import { AppError } from './errors';
import { currentRequestId } from './request-context';
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
    if (exception instanceof AppError) {
      status = exception.status;
      message = exception.message;
      extra = exception.details;
    } else if (exception instanceof HttpException) {
      status = exception.getStatus();
      message = messageOf(exception.getResponse(), exception.message);
    } else if (isBodyParserError(exception)) {
      status = exception.status;
      message =
        exception.type === 'entity.too.large'
          ? `Request body is larger than the ${String(exception.limit)} byte limit`
          : `Request body is not valid JSON: ${exception.message}`;
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
    res.status(status).json(body);
  }
}

function isBodyParserError(
  error: unknown,
): error is { status: number; type: string; message: string; limit?: number } {
  return (
    error instanceof Error &&
    typeof (error as { status?: unknown }).status === 'number' &&
    typeof (error as { type?: unknown }).type === 'string'
  );
}
