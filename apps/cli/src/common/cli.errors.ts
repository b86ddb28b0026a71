/**
 * Exit codes of `aiplane`: scripts branch on them, so each kind of failure a user can cause has its
 * own, and the help epilogue and apps/cli/README.md list the same table.
 */
export const EXIT = {
  ok: 0,
  /** The service itself failed: `wait` saw it end (failed, cancelled, ...) before it ran. */
  serviceFailed: 1,
  /** A bad flag, argument or value; nothing was sent. */
  usage: 2,
  /** No gateway answered at the URL. */
  unreachable: 3,
  /** The gateway does not know that id, recipe or model. */
  notFound: 4,
  /** The gateway refused the request (any 4xx but 404). */
  refused: 5,
  /** The gateway or something behind it failed (5xx). */
  serverError: 6,
  /** `--timeout` passed before the service was running. */
  timedOut: 7,
  /** A fault of the CLI itself; the message says what happened. */
  internal: 70,
  /** Interrupted with Ctrl-C (128 + SIGINT, as shells report it). */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = [
  'Exit codes:',
  '  0    success',
  '  1    the service failed or was cancelled (wait, create --wait); its last log lines are printed',
  '  2    bad flag, argument or value (nothing was sent)',
  '  3    the gateway is unreachable (run `npm start`, or pass --url)',
  '  4    not found: unknown service, group, recipe or model',
  '  5    the gateway refused the request (4xx other than 404), with its message',
  '  6    the gateway or a service behind it failed (5xx), with its message',
  '  7    --timeout passed before the service was running',
  '  70   a fault of the CLI itself (please report it)',
  '  130  interrupted (Ctrl-C)',
].join('\n');

/** A failure the CLI reports as one message and one exit code; never a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, EXIT.usage);
}

/** The exit code for an HTTP status the gateway answered with. */
export function exitCodeForStatus(status: number): ExitCode {
  if (status === 404) return EXIT.notFound;
  if (status >= 400 && status < 500) return EXIT.refused;
  if (status >= 500) return EXIT.serverError;
  return EXIT.ok;
}

/**
 * The person-readable message of an error body: the control plane's `{statusCode, error, message}`
 * (message may be a list), the data plane's `{success:false, error, message}`, OpenAI's
 * `{error:{message}}`, or plain text.
 */
export function messageOfBody(body: unknown): string | undefined {
  if (typeof body === 'string') return body.trim() === '' ? undefined : body.trim();
  if (typeof body !== 'object' || body === null) return undefined;
  const record = body as Record<string, unknown>;
  const { message, error } = record;
  if (typeof message === 'string' && message !== '') return message;
  if (Array.isArray(message) && message.length > 0) return message.map(String).join('; ');
  if (typeof error === 'object' && error !== null) return messageOfBody(error);
  if (typeof error === 'string' && error !== '') return error;
  return undefined;
}

/** A CliError for a gateway answer that is not a success. */
export function errorFromResponse(status: number, body: unknown, what: string): CliError {
  const message = messageOfBody(body) ?? `HTTP ${String(status)}`;
  return new CliError(`${what}: ${message} (HTTP ${String(status)})`, exitCodeForStatus(status));
}

/** Network error codes that mean nothing answered at the address. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/** The error code fetch (undici) puts on its `cause`, or on the cause's own cause. */
function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isUnreachable(error: unknown): boolean {
  if (networkCode(error) !== undefined) return true;
  return error instanceof TypeError && error.message === 'fetch failed';
}

export function unreachableError(url: string, error: unknown): CliError {
  const code = networkCode(error);
  return new CliError(
    `cannot reach the gateway at ${url}${code === undefined ? '' : ` (${code})`}: ` +
      'start the stack with `npm start`, or point --url (or AIPLANE_URL) at a running gateway',
    EXIT.unreachable,
  );
}
