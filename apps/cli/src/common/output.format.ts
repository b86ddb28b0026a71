import Table from 'cli-table3';
import pc from 'picocolors';

export type Colors = ReturnType<typeof pc.createColors>;

/** Colour only for a person at a terminal: picocolors already honours NO_COLOR and --no-color. */
export function colorsFor(stream: { isTTY?: boolean }): Colors {
  return pc.createColors(pc.isColorSupported && stream.isTTY === true);
}

export type Cell = string | number | boolean | null | undefined;

/** Table borders as plain characters and no cli-table3 colours, so piped output stays plain text. */
const PLAIN_STYLE = { head: [], border: [] };

/** A table with one header row; empty cells show as "-". */
export function renderTable(
  head: readonly string[],
  rows: readonly (readonly Cell[])[],
  colors: Colors,
): string {
  const table = new Table({ head: head.map((title) => colors.bold(title)), style: PLAIN_STYLE });
  for (const row of rows) table.push(row.map(cellText));
  return table.toString();
}

/** A two-column table of label → value for one record. */
export function renderFields(fields: readonly (readonly [string, Cell])[], colors: Colors): string {
  const table = new Table({ style: PLAIN_STYLE, wordWrap: true });
  for (const [label, value] of fields) table.push({ [colors.bold(label)]: cellText(value) });
  return table.toString();
}

export function cellText(value: Cell): string {
  if (value === null || value === undefined || value === '') return '-';
  return String(value);
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** `1h 02m 03s`, `4m 05s`, `12s`: how long something has taken, for a person. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (hours > 0) return `${String(hours)}h ${pad(minutes)}m ${pad(seconds)}s`;
  if (minutes > 0) return `${String(minutes)}m ${pad(seconds)}s`;
  return `${String(seconds)}s`;
}

/** How long ago an ISO time was (`3m 10s ago`), or the text itself when it does not parse. */
export function formatAge(iso: string | null | undefined, now: number): string | undefined {
  if (iso === null || iso === undefined) return undefined;
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  return `${formatDuration(now - at)} ago`;
}

/** An ISO time as local `HH:MM:SS` plus how far ahead it is (`in 4m 05s`), for estimates. */
export function formatEstimate(iso: string | null | undefined, now: number): string | undefined {
  if (iso === null || iso === undefined) return undefined;
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const clock = new Date(at).toTimeString().slice(0, 8);
  return at > now ? `${clock} (in ${formatDuration(at - now)})` : `${clock} (due)`;
}

/** A status word coloured by what it means to a person. */
export function colorStatus(status: string, colors: Colors): string {
  if (status === 'running') return colors.green(status);
  if (['pending', 'configuring', 'partially_running', 'idle'].includes(status)) return colors.yellow(status);
  if (['completed'].includes(status)) return colors.dim(status);
  return colors.red(status);
}
