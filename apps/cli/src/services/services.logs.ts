import { routePath, MAX_LOG_LINES, TERMINAL_STATUSES } from '@aiplane/contracts';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CliContext } from '../common/cli.context';

/** The `=== STDOUT ===` / `=== STDERR ===` / `=== REPLICA <id> ===` sections of a logs answer, in order. */
export type LogSections = [heading: string, lines: string[]][];

const HEADING = /^=== .+ ===$/;

export function parseLogSections(text: string): LogSections {
  const sections: LogSections = [];
  let current: [string, string[]] | undefined;
  for (const line of text.split('\n')) {
    if (HEADING.test(line)) {
      current = [line, []];
      sections.push(current);
    } else if (current === undefined) {
      current = ['', [line]];
      sections.push(current);
    } else current[1].push(line);
  }
  // A file's last line ends with a newline: the empty string after it is not a line.
  for (const [, lines] of sections) if (lines[lines.length - 1] === '') lines.pop();
  return sections;
}

/**
 * The lines of `next` that were not in `prev`, where both are the last lines of one growing file:
 * the longest tail of `prev` that `next` starts with is what both saw.
 */
export function appendedLines(prev: readonly string[], next: readonly string[]): string[] {
  for (let overlap = Math.min(prev.length, next.length); overlap > 0; overlap -= 1) {
    const offset = prev.length - overlap;
    let same = true;
    for (let i = 0; i < overlap && same; i += 1) same = prev[offset + i] === next[i];
    if (same) return next.slice(overlap);
  }
  return [...next];
}

/**
 * What a newer logs answer added, section by section. A heading is printed when the lines under it
 * are not from the section printed last (`shown`), so a section that keeps growing reads as one.
 */
export function newLogText(
  prev: LogSections,
  next: LogSections,
  shown = '',
): { text: string; shown: string } {
  const before = new Map(prev);
  const out: string[] = [];
  let current = shown;
  for (const [heading, lines] of next) {
    const added = appendedLines(before.get(heading) ?? [], lines);
    if (added.length === 0) continue;
    if (heading !== current && heading !== '') out.push(heading);
    current = heading;
    out.push(...added);
  }
  return { text: out.length === 0 ? '' : `${out.join('\n')}\n`, shown: current };
}

const POLL_MS = 1000;

/**
 * `logs -f`: the contract's `?follow=true` stream, written as it arrives until the service ends or the
 * person stops it. A gateway that answers the JSON snapshot instead does not stream yet: then the
 * same is done by polling, and the person is told so.
 */
export async function followLogs(
  ctx: CliContext,
  id: string,
  lines: number,
  signal: AbortSignal = new AbortController().signal,
): Promise<void> {
  const gateway = ctx.gateway();
  const path = routePath('services.logs', 'gateway', { id });
  const response = await gateway.open('GET', path, {
    query: { lines, follow: true },
    signal,
    what: `logs of ${id}`,
  });
  const type = response.headers.get('content-type') ?? '';
  if (!type.includes('json') && response.body !== null) {
    try {
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) ctx.out.write(chunk);
    } catch (error) {
      if (!signal.aborted) throw error;
    }
    return;
  }

  await response.body?.cancel();
  ctx.note(
    `(the gateway at ${ctx.url()} does not stream logs; showing new lines every ${String(POLL_MS / 1000)} s)`,
  );
  // Read over the widest window from here on, so that lines arriving between polls are not lost.
  const read = async (): Promise<LogSections> =>
    parseLogSections(
      (await gateway.json<{ logs: string }>('GET', path, { query: { lines: MAX_LOG_LINES }, signal })).logs,
    );
  let seen = await read();
  const shown = seen.map(([heading, body]): [string, string[]] => [heading, body.slice(-lines)]);
  let printed = newLogText([], shown);
  ctx.out.write(printed.text);
  while (!signal.aborted) {
    const { status } = await gateway.json<{ status: string }>(
      'GET',
      routePath('services.status', 'gateway', { id }),
      {
        signal,
      },
    );
    const next = await read();
    printed = newLogText(seen, next, printed.shown);
    ctx.out.write(printed.text);
    seen = next;
    if ((TERMINAL_STATUSES as readonly string[]).includes(status)) return;
    await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
  }
}
