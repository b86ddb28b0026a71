import { createParser } from 'eventsource-parser';
import type { BenchApi, RequestResult } from './bench.types';
import { isRecord } from './bench.schema';

export interface StreamRequest {
  endpoint: string;
  body: Record<string, unknown>;
  api: BenchApi;
  timeoutMs: number;
  /** The run's signal: aborting it makes the result `aborted`, not an error. */
  signal?: AbortSignal | undefined;
}

const MAX_MESSAGE = 300;

/**
 * Sends one streaming request and times it. Every figure is taken when the bytes holding an event
 * were read, on `performance.now()`: TTFT at the first chunk with non-empty content, each later
 * content chunk's gap to the one before it divided evenly over the tokens it carries (the growth of
 * its usage count when the server sends one per chunk, else one), E2E at `[DONE]`.
 */
export async function streamCompletion(request: StreamRequest): Promise<RequestResult> {
  const started = performance.now();
  const timeout = AbortSignal.timeout(request.timeoutMs);
  const signal = request.signal === undefined ? timeout : AbortSignal.any([request.signal, timeout]);
  const result: RequestResult = {
    error: undefined,
    aborted: false,
    ttftMs: undefined,
    itlMs: [],
    e2eMs: undefined,
    outputTokens: 0,
    perChunkUsage: false,
  };
  let contentChunks = 0;
  let chunksWithUsage = 0;
  let lastContentAt = 0;
  let tokensSoFar = 0;
  let usageTokens: number | undefined;
  const stream = { done: false };
  let readAt = started;
  let streaming = false;
  // A function, so the checks after the read loop see what onData set meanwhile.
  const failed = (): boolean => result.error !== undefined;

  const onData = (data: string): void => {
    if (stream.done || result.error !== undefined) return;
    if (data.trim() === '[DONE]') {
      stream.done = true;
      result.e2eMs = readAt - started;
      return;
    }
    let event: unknown;
    try {
      event = JSON.parse(data);
    } catch {
      result.error = `the stream carried an event that is not JSON: ${clip(data)}`;
      return;
    }
    if (!isRecord(event)) return;
    if (event.error !== undefined && event.error !== null) {
      result.error = `the stream ended with an error: ${clip(errorMessage(event.error))}`;
      return;
    }
    const chunkTokens = isRecord(event.usage) ? event.usage.completion_tokens : undefined;
    const counted = typeof chunkTokens === 'number' ? chunkTokens : undefined;
    if (counted !== undefined) usageTokens = counted;
    const content = contentOf(event, request.api);
    if (content === undefined || content === '') return;
    contentChunks++;
    if (counted !== undefined) chunksWithUsage++;
    const tokensNow = counted ?? tokensSoFar + 1;
    if (contentChunks === 1) {
      result.ttftMs = readAt - started;
    } else {
      const tokens = Math.max(1, tokensNow - tokensSoFar);
      const perToken = (readAt - lastContentAt) / tokens;
      for (let i = 0; i < tokens; i++) result.itlMs.push(perToken);
    }
    tokensSoFar = Math.max(tokensNow, tokensSoFar + 1);
    lastContentAt = readAt;
  };

  try {
    const response = await fetch(request.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify(request.body),
      signal,
    });
    if (!response.ok) {
      const text = await response.text();
      result.error = `HTTP ${String(response.status)}: ${clip(bodyMessage(text) ?? response.statusText)}`;
      return result;
    }
    const type = response.headers.get('content-type') ?? '';
    if (!type.startsWith('text/event-stream') || response.body === null) {
      result.error = `the answer is not an event stream (content-type ${type === '' ? 'missing' : type})`;
      await response.body?.cancel();
      return result;
    }
    streaming = true;
    const parser = createParser({
      onEvent: (event) => {
        onData(event.data);
      },
    });
    const decoder = new TextDecoder();
    // Node's web stream is async-iterable; the DOM-less lib typings do not say so.
    for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
      readAt = performance.now();
      parser.feed(decoder.decode(bytes, { stream: true }));
      if (failed()) break;
    }
    if (!failed() && !stream.done) {
      result.error = `the stream ended without [DONE] after ${String(contentChunks)} content chunks`;
    }
  } catch (error) {
    if (request.signal?.aborted === true) result.aborted = true;
    else if (timeout.aborted) {
      result.error = `no complete answer within ${String(request.timeoutMs / 1_000)} s`;
    } else if (streaming) {
      result.error = clip(
        `the stream broke off after ${String(contentChunks)} content chunks: ${networkMessage(error)}`,
      );
    } else result.error = clip(networkMessage(error));
  }
  result.outputTokens = usageTokens ?? contentChunks;
  result.perChunkUsage = contentChunks > 0 && chunksWithUsage === contentChunks;
  return result;
}

function contentOf(event: Record<string, unknown>, api: BenchApi): string | undefined {
  const choices = event.choices;
  if (!Array.isArray(choices)) return undefined;
  const choice: unknown = choices[0];
  if (!isRecord(choice)) return undefined;
  if (api === 'completions') return typeof choice.text === 'string' ? choice.text : undefined;
  const delta = choice.delta;
  return isRecord(delta) && typeof delta.content === 'string' ? delta.content : undefined;
}

/** OpenAI's `{error: {message}}`, vLLM's `{message}`, the control plane's `{message}`, or the text. */
function bodyMessage(text: string): string | undefined {
  try {
    const body: unknown = JSON.parse(text);
    if (isRecord(body)) {
      if (body.error !== undefined && body.error !== null) return errorMessage(body.error);
      if (typeof body.message === 'string') return body.message;
    }
  } catch {
    // Not JSON: the text itself says what went wrong.
  }
  return text.trim() === '' ? undefined : text.trim();
}

function errorMessage(error: unknown): string {
  if (typeof error === 'string') return error;
  if (isRecord(error) && typeof error.message === 'string') return error.message;
  return JSON.stringify(error);
}

/** fetch hides why a connection failed in `cause`; that is what a person needs to see. */
function networkMessage(error: unknown): string {
  const cause = isRecord(error) ? error.cause : undefined;
  if (isRecord(cause) && typeof cause.code === 'string') {
    return `cannot reach the gateway (${cause.code}${typeof cause.message === 'string' ? `: ${cause.message}` : ''})`;
  }
  return error instanceof Error ? error.message : String(error);
}

function clip(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_MESSAGE ? `${line.slice(0, MAX_MESSAGE)}...` : line;
}
