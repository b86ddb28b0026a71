import { CliError, EXIT, errorFromResponse, isUnreachable, unreachableError } from './cli.errors';

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  /** What the request is about, for error messages (`service 1234`). */
  what?: string;
}

/** How long one control-plane call may take; a create waits for the scheduler's answer. */
const REQUEST_TIMEOUT_MS = 120_000;

/**
 * The gateway's public API over Node's fetch. Every failure becomes a CliError with its exit code:
 * nothing answering is "unreachable", an HTTP error carries the gateway's own message.
 */
export class GatewayClient {
  constructor(readonly baseUrl: string) {}

  url(path: string, query: Query = {}): string {
    // Appended, not resolved: a gateway behind a path prefix keeps it.
    const url = new URL(`${this.baseUrl.replace(/\/+$/, '')}${path}`);
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.send(method, path, options);
    const body = await readBody(response);
    if (!response.ok) throw errorFromResponse(response.status, body, options.what ?? `${method} ${path}`);
    if (typeof body === 'string') {
      throw new CliError(
        `${options.what ?? path}: the gateway answered ${describeType(response)}, not JSON; is ${this.baseUrl} an aiplane gateway?`,
        EXIT.serverError,
      );
    }
    return body as T;
  }

  /** The raw answer of a successful request, for streams; errors are thrown as for json(). */
  async open(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const response = await this.send(method, path, options);
    if (!response.ok) {
      throw errorFromResponse(response.status, await readBody(response), options.what ?? `${method} ${path}`);
    }
    return response;
  }

  private async send(method: string, path: string, options: RequestOptions): Promise<Response> {
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
    try {
      return await fetch(this.url(path, options.query), {
        method,
        headers: {
          accept: 'application/json, text/plain;q=0.9',
          ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: options.body === undefined ? null : JSON.stringify(options.body),
        signal,
      });
    } catch (error) {
      if (options.signal?.aborted === true) throw error;
      if (timeout.aborted) {
        throw new CliError(
          `the gateway at ${this.baseUrl} did not answer within ${String(REQUEST_TIMEOUT_MS / 1000)} s`,
          EXIT.serverError,
        );
      }
      if (isUnreachable(error)) throw unreachableError(this.baseUrl, error);
      throw error;
    }
  }
}

function describeType(response: Response): string {
  return response.headers.get('content-type') ?? 'without a content type';
}

/** JSON when the answer says it is JSON and parses, else its text. */
async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!(response.headers.get('content-type') ?? '').includes('json')) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
