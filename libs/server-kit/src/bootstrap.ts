import {
  ValidationPipe,
  type ArgumentMetadata,
  type DynamicModule,
  type INestApplication,
  type Type,
  type ValidationError,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { chmodSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { BadRequestError } from './errors';
import { HttpErrorFilter } from './http-error.filter';
import type { Logger } from './logging';
import {
  JSON_BODY_LIMIT,
  jsonContentTypeMiddleware,
  jsonParseErrorMiddleware,
  requestBodyProblem,
} from './request-body.rules';
import { requestIdMiddleware } from './request-context';
import { prepareSocketPath } from './socket-path.rules';

export interface HttpAppOptions {
  logger: Logger;
  /**
   * Largest accepted JSON body (default JSON_BODY_LIMIT), bytes or `'32mb'`: a bigger declared
   * length is 413 before any reading, a chunked body is counted as it arrives. The gateway and the
   * orchestrator pass CONTROL_BODY_LIMIT: their data plane never reaches Nest (RequestGate,
   * PassThroughDispatcher).
   */
  bodyLimit?: string | number;
}

function flatten(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((error) => {
    const path = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((text) =>
      // class-validator words messages with the bare property; the full path is what a user can act on.
      text.startsWith(error.property) ? `${path}${text.slice(error.property.length)}` : `${path}: ${text}`,
    );
    return [...own, ...flatten(error.children ?? [], path)];
  });
}

/**
 * Bodies are checked before class-transformer sees them: it recurses (a deep body would overflow
 * the stack, a 500) and it drops `__proto__` and `constructor` keys without a word.
 */
class EdgeValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body') {
      const problem = requestBodyProblem(value);
      if (problem !== undefined) throw new BadRequestError(problem);
    }
    return (await super.transform(value, metadata)) as unknown;
  }
}

/** Strict validation at the edge: unknown fields are errors, never silently dropped. */
export function validationPipe(): ValidationPipe {
  return new EdgeValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    exceptionFactory: (errors) => new BadRequestError(flatten(errors).join('; ')),
  });
}

export async function createHttpApp(
  module: Type | DynamicModule,
  options: HttpAppOptions,
): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(module, {
    bufferLogs: true,
    bodyParser: false,
    // A provider that fails (a Redis refused at start) rejects here, for main() to report and exit:
    // Nest's own process.exit would also end a test runner that builds the app in-process.
    abortOnError: false,
  });
  app.useLogger(app.get(PinoNestLogger));
  app.use(requestIdMiddleware);
  app.use(jsonContentTypeMiddleware);
  app.useBodyParser('json', { limit: options.bodyLimit ?? JSON_BODY_LIMIT });
  app.use(jsonParseErrorMiddleware);
  app.useGlobalPipes(validationPipe());
  app.useGlobalFilters(new HttpErrorFilter(options.logger));
  app.enableShutdownHooks();
  return app;
}

/** Listens, logs where, and closes cleanly on SIGINT/SIGTERM (enableShutdownHooks does the rest). */
export async function listen(
  app: INestApplication,
  host: string,
  port: number,
  logger: Logger,
): Promise<void> {
  await app.listen(port, host);
  // The port actually bound: with 0 the system picked it, and whoever started the process reads it here.
  const address = (app.getHttpServer() as http.Server).address();
  logger.info(
    { host, port: typeof address === 'object' && address !== null ? address.port : port },
    'listening',
  );
}

/**
 * Listens on a Unix socket only this user can connect to: created under a 0177 umask (no window in
 * which it is open to others) in a private directory, and chmod 0600 for good measure.
 */
export async function listenOnSocket(
  app: INestApplication,
  socketPath: string,
  logger: Logger,
): Promise<void> {
  await prepareSocketPath(socketPath);
  const umask = process.umask(0o177);
  try {
    await app.listen(socketPath);
  } finally {
    process.umask(umask);
  }
  chmodSync(socketPath, 0o600);
  logger.info({ socket: socketPath }, 'listening');
}

/**
 * A second listener (TCP) serving exactly what the app's own server serves, request listeners
 * included (a pass-through installed in front of Nest); it closes when the app closes.
 */
export async function listenBeside(app: INestApplication, host: string, port: number): Promise<AddressInfo> {
  const main = app.getHttpServer() as http.Server;
  const beside = http.createServer();
  for (const listener of main.listeners('request')) beside.on('request', listener as http.RequestListener);
  beside.keepAliveTimeout = main.keepAliveTimeout;
  beside.headersTimeout = main.headersTimeout;
  beside.requestTimeout = main.requestTimeout;
  await new Promise<void>((resolve, reject) => {
    beside.once('error', reject);
    beside.listen(port, host, () => {
      beside.removeListener('error', reject);
      resolve();
    });
  });
  main.once('close', () => {
    beside.close();
    beside.closeAllConnections();
  });
  return beside.address() as AddressInfo;
}

/**
 * Starts an app without an HTTP surface (a queue consumer, a prober): pino as Nest's logger, and
 * SIGINT/SIGTERM closing every module so connections and timers end cleanly.
 */
export async function runStandalone(module: Type | DynamicModule): Promise<void> {
  const app = await NestFactory.createApplicationContext(module, { bufferLogs: true });
  app.useLogger(app.get(PinoNestLogger));
  app.enableShutdownHooks();
  await app.init();
}
