import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { LoggerModule } from 'nestjs-pino';
import { RequestMethod, type DynamicModule } from '@nestjs/common';
import { prettyLogLine } from './log.pretty';
import { currentRequestId } from './request-context';

export type { Logger } from 'pino';

/** `json`: one JSON object a line (production, and what the stack's supervisor reads); `pretty`: for people. */
export type LogFormat = 'json' | 'pretty';

// Nest's start-up inventory (a line per module and per route mapped) says nothing a person starting
// the stack needs; it stays available at debug.
const START_UP_INVENTORY = new Set(['RouterExplorer', 'RoutesResolver', 'InstanceLoader']);
const INFO = 30;

function isStartUpInventory(first: unknown): boolean {
  if (typeof first !== 'object' || first === null) return false;
  const context = (first as { context?: unknown }).context;
  return typeof context === 'string' && START_UP_INVENTORY.has(context);
}

// Secrets must never reach a log line, whatever logged them. A path's `*` spans one level, so the
// workloads' API keys are also covered where a record or an environment sits one level deeper
// (`{ service: { api_key } }`, `{ request: { env: { VLLM_API_KEY } } }`).
const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["api-key"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.token',
  '*.apiKey',
  'api_key',
  '*.api_key',
  '*.*.api_key',
  '*.api_keys',
  '*.*.api_keys',
  '*.authorization',
  '*.*.authorization',
  '*["api-key"]',
  '*.*["api-key"]',
  '*.VLLM_API_KEY',
  '*.*.VLLM_API_KEY',
  '*.QDRANT__SERVICE__API_KEY',
  '*.*.QDRANT__SERVICE__API_KEY',
  '*.password',
  '*.HF_TOKEN',
];

/**
 * `destination` defaults to stdout; tests pass their own to read what would have been logged.
 * `pretty` writes one coloured line per entry (`HH:MM:ss LEVEL app message key=value`) instead of JSON.
 */
export function createLogger(
  service: string,
  level = 'info',
  destination?: DestinationStream,
  format: LogFormat = 'json',
): Logger {
  const options: LoggerOptions = {
    level,
    hooks: {
      logMethod(args, method, callLevel) {
        if (callLevel === INFO && isStartUpInventory(args[0])) {
          if (this.isLevelEnabled('debug')) this.debug(...args);
          return;
        }
        method.apply(this, args);
      },
    },
    base: { service },
    redact: { paths: REDACT_PATHS, censor: '***' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Every line written while serving a request carries its id, wherever it was logged from.
    mixin: () => {
      const requestId = currentRequestId();
      return requestId ? { request_id: requestId } : {};
    },
  };
  if (format === 'pretty') {
    const out = destination ?? process.stdout;
    const colour = destination === undefined && process.stdout.isTTY;
    return pino(options, { write: (line: string) => out.write(prettyLogLine(line, colour)) });
  }
  return destination ? pino(options, destination) : pino(options);
}

export function loggerModule(logger: Logger): DynamicModule {
  return LoggerModule.forRoot({
    // Nest 11's path syntax; the library's default '*' triggers a legacy-route warning at every start.
    forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
    pinoHttp: {
      logger,
      // requestIdMiddleware runs first and has already chosen the id.
      genReqId: (req) => req.id,
      // The mixin already adds request_id; pino-http's own `req.id` would duplicate it.
      quietReqLogger: true,
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
      serializers: {
        req: (req: { method?: string; url?: string }) => ({ method: req.method, url: req.url }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      },
    },
  });
}
