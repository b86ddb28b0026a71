import { InvalidArgumentError, type Command } from 'commander';
import { GatewayClient } from './gateway.client';
import { colorsFor, toJson, type Colors } from './output.format';

export const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:8001';

export type OutStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/** What every command gets: the global flags, the gateway, and where to write. */
export interface CliContext {
  /** The gateway's base URL (`--url`, else AIPLANE_URL, else the default). */
  url(): string;
  /** Whether `--json` was given: machine-readable output on stdout, nothing else there. */
  json(): boolean;
  out: OutStream;
  err: OutStream;
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  gateway(): GatewayClient;
  /** Colours for stdout (none when it is not a terminal or NO_COLOR is set). */
  colors(): Colors;
  /** The terminal's width when stdout is one; tables wrap their last column to it. */
  width(): number | undefined;
  /** One line (or block) of text on stdout. */
  print(text: string): void;
  /** The value as JSON on stdout. */
  printJson(value: unknown): void;
  /** A note for the person on stderr, out of the way of piped output. */
  note(text: string): void;
  /**
   * Takes the next Ctrl-C for a command that can end gracefully (a bench reports what it measured);
   * a second Ctrl-C exits at once. Returns the release, called when the command is done.
   */
  onInterrupt(handler: () => void): () => void;
  /** Hands a Ctrl-C to the command that took it; false when none did and the CLI should exit. */
  interrupt(): boolean;
}

/** Validates `--url` at parse time, so a typo is a usage error naming the flag. */
export function parseGatewayUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(
      `"${value}" is not a URL; give the gateway's, e.g. ${DEFAULT_GATEWAY_URL}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(
      `"${value}" is not an http(s) URL; give the gateway's, e.g. ${DEFAULT_GATEWAY_URL}`,
    );
  }
  if (url.search !== '' || url.hash !== '') {
    throw new InvalidArgumentError(`"${value}" has a query or fragment; give only the gateway's base URL`);
  }
  return url.toString().replace(/\/+$/, '');
}

export interface CliIo {
  out: OutStream;
  err: OutStream;
  input: NodeJS.ReadableStream & { isTTY?: boolean };
}

export function createCliContext(program: Command, io: CliIo): CliContext {
  const globals = (): { url?: string; json?: boolean } => program.opts<{ url?: string; json?: boolean }>();
  let client: GatewayClient | undefined;
  let interruptHandler: (() => void) | undefined;
  const context: CliContext = {
    url: () => globals().url ?? DEFAULT_GATEWAY_URL,
    json: () => globals().json === true,
    out: io.out,
    err: io.err,
    input: io.input,
    gateway: () => {
      const url = context.url();
      if (client?.baseUrl !== url) client = new GatewayClient(url);
      return client;
    },
    colors: () => colorsFor(io.out),
    width: () => (io.out.isTTY === true ? io.out.columns : undefined),
    print: (text) => {
      io.out.write(text.endsWith('\n') ? text : `${text}\n`);
    },
    printJson: (value) => {
      io.out.write(`${toJson(value)}\n`);
    },
    note: (text) => {
      io.err.write(text.endsWith('\n') ? text : `${text}\n`);
    },
    onInterrupt: (handler) => {
      interruptHandler = handler;
      return () => {
        if (interruptHandler === handler) interruptHandler = undefined;
      };
    },
    interrupt: () => {
      const handler = interruptHandler;
      // Once only: the next Ctrl-C is the person insisting.
      interruptHandler = undefined;
      handler?.();
      return handler !== undefined;
    },
  };
  return context;
}
