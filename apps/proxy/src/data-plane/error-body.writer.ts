import type { OutgoingHttpHeaders } from 'node:http';
import { InvalidServiceIdError, TERMINAL_STATUSES, type EntryStatus } from '@aiplane/contracts';
import {
  AppError,
  isStoreUnavailable,
  openAiErrorType,
  STORE_UNAVAILABLE_MESSAGE,
} from '@aiplane/server-kit';
import type { ProxyConfig } from '../proxy.config';
import { UpstreamFailedError } from '../upstream/upstream.client';
import { BodyTooLargeError } from './exchange.rules';

/** An error the proxy answers itself, before it is put in one of the two shapes. */
export interface ErrorAnswer {
  status: number;
  /** The HTTP reason as the data-plane envelope's `error` shows it. */
  reason: string;
  message: string;
  /** OpenAI's `code`. */
  code: string;
  details: Record<string, unknown>;
  headers: OutgoingHttpHeaders;
  /** Not the client's doing: worth a warn line. */
  failure: boolean;
}

/** An error that carries OpenAI's `code` for its `/v1` answer. */
export class CodedAppError extends AppError implements RetryHinted {
  constructor(
    status: number,
    reason: string,
    message: string,
    readonly openAiCode: string,
    details: Record<string, unknown> = {},
    readonly retryHint?: RetryHint,
  ) {
    super(status, reason, message, details);
  }
}

const DEFAULT_CODES: Readonly<Record<number, string>> = {
  400: 'invalid_request',
  401: 'invalid_proxy_token',
  404: 'not_found',
  413: 'request_too_large',
  415: 'unsupported_media_type',
  500: 'internal_error',
  502: 'upstream_error',
  503: 'service_unavailable',
  504: 'upstream_timeout',
};

const ENDED: readonly string[] = [...TERMINAL_STATUSES, 'cancelled', 'completed'];

/** What a not-ready answer knows about when the service will serve. */
export interface RetryHint {
  /** The scheduler's start estimate of a pending job (ISO 8601), or null without one. */
  estimatedStart: string | null;
  /** The longest start-up observed for the service's recipe, or null when none was observed yet. */
  startupSeconds: number | null;
}

/** A not-ready error that knows when its service may serve; `errorAnswer` turns it into Retry-After. */
export interface RetryHinted {
  readonly retryHint?: RetryHint;
}

/**
 * Seconds a client should wait for something that is not ready yet. A pending job the scheduler
 * has an estimate for: until that estimate, plus the start-up it will then take (the recipe's
 * observed start-up, else the configured allowance for configuring). Without an estimate, the
 * recipe's observed start-up time; without that either, the configured seconds per status (an idle
 * service, which the request starts again, as a pending one). Nothing for a service that ended: waiting will not help.
 */
export function retryAfterSeconds(
  status: EntryStatus,
  config: Pick<ProxyConfig, 'RETRY_AFTER_PENDING_S' | 'RETRY_AFTER_CONFIGURING_S'>,
  hint?: RetryHint,
  now = Date.now(),
): number | undefined {
  if (ENDED.includes(status)) return undefined;
  const startup = hint?.startupSeconds ?? null;
  const allowance = startup ?? config.RETRY_AFTER_CONFIGURING_S;
  // An idle service being started again is a new job: as long as a queued one.
  if (status === 'pending' || status === 'idle') {
    const estimate = hint?.estimatedStart ? Date.parse(hint.estimatedStart) : Number.NaN;
    // An estimate already passed (the job is about to start, or the scheduler slipped) leaves the start-up.
    if (Number.isFinite(estimate))
      return Math.max(0, Math.ceil((estimate - now) / 1000)) + Math.max(1, allowance);
    return Math.max(1, startup ?? config.RETRY_AFTER_PENDING_S);
  }
  return Math.max(1, allowance);
}

export function errorAnswer(error: unknown, config: ProxyConfig): ErrorAnswer {
  const answer = (
    status: number,
    reason: string,
    message: string,
    details: Record<string, unknown> = {},
    code?: string,
  ): ErrorAnswer => ({
    status,
    reason,
    message,
    code: code ?? DEFAULT_CODES[status] ?? 'error',
    details,
    headers: {},
    failure: status >= 500,
  });
  if (error instanceof BodyTooLargeError) return answer(413, 'Payload Too Large', error.message);
  if (error instanceof UpstreamFailedError) {
    return answer(502, 'Bad Gateway', `The workload failed before answering: ${error.message}`);
  }
  if (error instanceof InvalidServiceIdError)
    return answer(400, 'Bad Request', error.message, {}, 'invalid_id');
  if (error instanceof AppError) {
    const result = answer(
      error.status,
      error.error,
      error.message,
      error.details,
      error instanceof CodedAppError ? error.openAiCode : undefined,
    );
    const status = error.details.status as EntryStatus | undefined;
    if (error.status === 503 && status !== undefined) {
      const seconds = retryAfterSeconds(status, config, (error as RetryHinted).retryHint);
      if (seconds !== undefined) result.headers['retry-after'] = String(seconds);
    }
    return result;
  }
  if (isStoreUnavailable(error)) return answer(503, 'Service Unavailable', STORE_UNAVAILABLE_MESSAGE);
  return answer(
    500,
    'Internal Server Error',
    'Internal server error; the request id identifies it in the logs',
  );
}

/** `{error:{message, type, code}}`, as OpenAI's API and SDKs have it. */
export function openAiErrorBody(answer: ErrorAnswer): {
  error: { message: string; type: string; code: string };
} {
  return { error: { message: answer.message, type: openAiErrorType(answer.status), code: answer.code } };
}

/** The data-plane envelope every other route of the proxy answers errors with. */
export function envelopeErrorBody(answer: ErrorAnswer, requestId: string): Record<string, unknown> {
  return {
    success: false,
    statusCode: answer.status,
    error: answer.reason,
    message: answer.message,
    ...answer.details,
    request_id: requestId,
  };
}
