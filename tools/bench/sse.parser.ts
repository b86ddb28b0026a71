/** One server-sent event: its `data:` lines joined, and when its last byte arrived. */
export interface SseEvent {
  data: string;
  at: number;
}

/**
 * Splits a byte stream into server-sent events as they complete. A network read may hold part of
 * an event or several events, so an event is timed when its terminating blank line arrives, not
 * when its first byte did.
 */
export class SseSplitter {
  private buffer = '';

  push(text: string, at: number): SseEvent[] {
    this.buffer += text.replace(/\r\n?/g, '\n');
    const events: SseEvent[] = [];
    let end = this.buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5));
      if (data.length > 0) events.push({ data: data.join('\n'), at });
      end = this.buffer.indexOf('\n\n');
    }
    return events;
  }

  /** What came after the last complete event (a truncated stream leaves something here). */
  rest(): string {
    return this.buffer;
  }
}

/**
 * Whether an event carries one generated token: a chat chunk with `delta.content` (not the first,
 * role-only chunk) or a completions chunk with `text`. The usage chunk, `[DONE]` and error events
 * do not count.
 */
export function isTokenChunk(data: string): boolean {
  if (data === '[DONE]') return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(data) as unknown;
  } catch {
    return false;
  }
  if (typeof parsed !== 'object' || parsed === null) return false;
  const choices = (parsed as { choices?: unknown }).choices;
  if (!Array.isArray(choices)) return false;
  const choice: unknown = choices[0];
  if (typeof choice !== 'object' || choice === null) return false;
  const { delta, text } = choice as { delta?: { role?: unknown; content?: unknown }; text?: unknown };
  if (delta !== undefined) return typeof delta.content === 'string' && delta.role === undefined;
  return typeof text === 'string';
}

/** An error event a hop ends a failed stream with (`data: {"error":{...}}`). */
export function isErrorEvent(data: string): boolean {
  return data.startsWith('{"error"') || /^\{\s*"error"\s*:/.test(data);
}
