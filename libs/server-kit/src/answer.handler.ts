import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { HOP_BY_HOP_HEADERS } from './hop-headers.rules';

/** Where an answer's body goes as it arrives: a `ServerResponse`, or anything that writes like one. */
export interface BodySink {
  /** False when the sink's buffer is full: nothing more is sent until it emits `drain`. */
  write(chunk: Buffer): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

/** How a relayed body ends: once, and exactly one of the two. */
export interface BodyEnd {
  end(): void;
  /** The workload failed (or was aborted) after its headers: the body is cut short. */
  fail(error: Error): void;
}

/** A workload's answer once its headers arrived; the body is the caller's to relay, read or abort. */
export interface AnswerBody {
  /** Whether the whole body arrived. */
  readonly complete: boolean;
  /** Sends the body on to `sink` as it arrives, honouring the sink's back-pressure. Once. */
  relay(sink: BodySink, end: BodyEnd): void;
  /** The whole body. Instead of `relay`. */
  read(): Promise<Buffer>;
  /** Stops the exchange (the client went away): the workload sees its connection close. */
  abort(): void;
}

export interface AnswerHead {
  status: number;
  /**
   * The end-to-end headers: the hop-by-hop ones, and any the Connection header names, described
   * the connection undici read the answer from, so no hop passes them on. The object is the
   * caller's to add to.
   */
  headers: IncomingHttpHeaders;
  body: AnswerBody;
}

/** What the client reports to the handler's owner: the head, or why there is none. */
export interface AnswerCallbacks {
  head(answer: AnswerHead): void;
  /** `connected`: whether the request had been handed a connection (so may have been sent). */
  failed(error: Error, connected: boolean): void;
}

/**
 * One exchange on undici's dispatcher, without the stream machinery of `IncomingMessage`: the
 * head is handed over as soon as it is parsed, and the body's chunks go straight into the sink
 * (pausing the parser while the sink is full). Chunks that arrive before a sink is attached, in the
 * same read as the head, are held, and the parser waits until a sink takes them.
 */
export class AnswerHandler implements Dispatcher.DispatchHandlers, AnswerBody {
  complete = false;
  private connected = false;
  private abortExchange: ((error?: Error) => void) | undefined;
  private aborted = false;
  private resume: (() => void) | undefined;
  private headSeen = false;
  private held: Buffer[] = [];
  private sink: BodySink | undefined;
  private end: BodyEnd | undefined;
  private failure: Error | undefined;

  constructor(private readonly callbacks: AnswerCallbacks) {}

  onConnect(abort: (error?: Error) => void): void {
    this.connected = true;
    this.abortExchange = abort;
    if (this.aborted) abort();
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // 1xx informational heads precede the real one.
    if (status < 200) return true;
    this.headSeen = true;
    this.resume = resume;
    this.callbacks.head({ status, headers: headersOf(rawHeaders), body: this });
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.sink === undefined) {
      this.held.push(chunk);
      return false;
    }
    return this.write(chunk);
  }

  onComplete(): void {
    this.complete = true;
    this.end?.end();
  }

  onError(error: Error): void {
    if (!this.headSeen) {
      this.callbacks.failed(error, this.connected);
      return;
    }
    if (this.failure !== undefined || this.complete) return;
    this.failure = error;
    this.end?.fail(error);
  }

  relay(sink: BodySink, end: BodyEnd): void {
    if (this.sink !== undefined) throw new Error('an answer body is relayed once');
    this.sink = sink;
    this.end = end;
    const held = this.held;
    this.held = [];
    let flowing = true;
    for (const chunk of held) flowing = this.write(chunk) && flowing;
    if (this.complete) end.end();
    else if (this.failure !== undefined) end.fail(this.failure);
    else if (flowing && held.length > 0) this.resume?.();
  }

  read(): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      this.relay(
        {
          write: (chunk) => chunks.push(chunk) > 0,
          once: () => undefined,
        },
        {
          end: () => {
            resolve(Buffer.concat(chunks));
          },
          fail: (error) => {
            reject(new Error(`the workload's answer was cut short: ${error.message}`));
          },
        },
      );
    });
  }

  abort(): void {
    if (this.aborted || this.complete) return;
    this.aborted = true;
    this.abortExchange?.();
  }

  private write(chunk: Buffer): boolean {
    const sink = this.sink;
    if (sink === undefined || sink.write(chunk)) return true;
    sink.once('drain', () => this.resume?.());
    return false;
  }
}

const HOP_BY_HOP = new Set(HOP_BY_HOP_HEADERS);

/**
 * Raw header pairs as node:http presents them (lower-case names, latin1 values, repeats as arrays),
 * the hop-by-hop ones left out. Built without them rather than deleted after: a deleted property
 * turns the object into a slow dictionary for every hop that reads or writes it next.
 */
function headersOf(raw: Buffer[]): IncomingHttpHeaders {
  const headers: Record<string, string | string[]> = {};
  let connection: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]?.toString('latin1').toLowerCase() ?? '';
    const value = raw[i + 1]?.toString('latin1') ?? '';
    if (HOP_BY_HOP.has(name)) {
      if (name === 'connection') connection = connection === undefined ? value : `${connection},${value}`;
      continue;
    }
    const seen = headers[name];
    if (seen === undefined) headers[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else headers[name] = [seen, value];
  }
  if (connection !== undefined) {
    for (const token of connection.split(',')) {
      const named = token.trim().toLowerCase();
      if (named !== 'keep-alive' && named !== 'close') Reflect.deleteProperty(headers, named);
    }
  }
  return headers;
}
