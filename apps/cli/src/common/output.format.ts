import Table from 'cli-table3';
import { stripVTControlCharacters } from 'node:util';
import pc from 'picocolors';

export type Colors = ReturnType<typeof pc.createColors>;

/** Colour only for a person at a terminal: picocolors already honours NO_COLOR and --no-color. */
export function colorsFor(stream: { isTTY?: boolean }): Colors {
  return pc.createColors(pc.isColorSupported && stream.isTTY === true);
}

export type Cell = string | number | boolean | null | undefined;

/**
 * Tables as `kubectl get` prints them: no borders, columns two spaces apart, so they stay narrow
 * and `grep`/`awk` can read them. Colour only from picocolors, never from cli-table3.
 */
export const COMPACT = {
  chars: {
    top: '',
    'top-mid': '',
    'top-left': '',
    'top-right': '',
    bottom: '',
    'bottom-mid': '',
    'bottom-left': '',
    'bottom-right': '',
    left: '',
    'left-mid': '',
    mid: '',
    'mid-mid': '',
    right: '',
    'right-mid': '',
    middle: '  ',
  },
  style: { 'padding-left': 0, 'padding-right': 0, head: [], border: [] },
};

const visibleLength = (text: string): number =>
  Math.max(
    0,
    ...stripVTControlCharacters(text)
      .split('\n')
      .map((line) => line.length),
  );

/**
 * The last column's width when the table must fit `width` columns (a terminal's), or undefined when
 * it fits as it is or the other columns leave it too little room to be worth wrapping.
 */
function lastColumnWidth(
  rows: readonly (readonly string[])[],
  width: number | undefined,
): number | undefined {
  if (width === undefined || rows.length === 0) return undefined;
  const columns = rows[0]?.length ?? 0;
  const widths = Array.from({ length: columns }, (_, index) =>
    Math.max(...rows.map((row) => visibleLength(row[index] ?? ''))),
  );
  const total = widths.reduce((sum, each) => sum + each, 0) + 2 * (columns - 1);
  if (total <= width) return undefined;
  const room = width - (total - (widths[columns - 1] ?? 0));
  return room >= 20 ? room : undefined;
}

/** A table with one header row; empty cells show as "-"; the last column wraps to fit `width`. */
export function renderTable(
  head: readonly string[],
  rows: readonly (readonly Cell[])[],
  colors: Colors,
  width?: number,
): string {
  const body = rows.map((row) => row.map(cellText));
  const last = lastColumnWidth([[...head], ...body], width);
  const table = new Table({
    ...COMPACT,
    head: head.map((title) => colors.bold(title)),
    ...(last === undefined
      ? {}
      : {
          colWidths: [...head.slice(0, -1).map(() => null), last],
          wordWrap: true,
          wrapOnWordBoundary: true,
        }),
  });
  for (const row of body) table.push(row);
  return trimLines(table.toString());
}

/** Label and value, one pair a line (a value may take several). */
export function renderFields(fields: readonly (readonly [string, Cell])[], colors: Colors): string {
  const table = new Table(COMPACT);
  for (const [label, value] of fields) table.push({ [colors.bold(`${label}:`)]: cellText(value) });
  return trimLines(table.toString());
}

/** cli-table3 pads every cell to its column's width; a line's trailing blanks help nobody. */
/** A table's text without the padding cli-table3 leaves at the end of each line. */
export function trimLines(text: string): string {
  return text
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
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
