import { colorizerFactory } from 'pino-pretty';

/** Keys the line shows in its own places (time, level, app, message) or that repeat the process. */
const SHOWN_ELSEWHERE = new Set(['time', 'level', 'msg', 'pid', 'hostname']);
const PLAIN = /^[^\s"=]+$/;
/** pino-http's own fields on a request's line: shown as `GET /path → 200 3ms` instead. */
const REQUEST_FIELDS = new Set(['req', 'res', 'reqId', 'responseTime']);
/** Wide enough for the longest app name, so the messages line up. */
const APP_WIDTH = 13;

function valueText(value: unknown): string {
  if (typeof value === 'string') return PLAIN.test(value) ? value : JSON.stringify(value);
  // An error as pino serialises it: its message is what fits on one line.
  if (
    typeof value === 'object' &&
    value !== null &&
    'message' in value &&
    typeof value.message === 'string'
  ) {
    return JSON.stringify(value.message);
  }
  // JSON.stringify answers undefined for a function or a symbol, whatever its declared type says.
  const json = JSON.stringify(value) as string | undefined;
  return json ?? String(value);
}

/** `key=value` for every field a log entry carries beyond time, level, app and message. */
export function logFields(entry: Readonly<Record<string, unknown>>): string {
  return (
    Object.entries(entry)
      // `service` is the app's name, unless a call logged a record under that key (the later one wins).
      .filter(
        ([key, value]) => !SHOWN_ELSEWHERE.has(key) && !(key === 'service' && typeof value === 'string'),
      )
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${key}=${valueText(value)}`)
      .join(' ')
  );
}

/** `HH:MM:ss` in local time, from pino's ISO timestamp (or epoch ms). */
function clock(time: unknown): string {
  const date = new Date(typeof time === 'string' || typeof time === 'number' ? time : Date.now());
  if (Number.isNaN(date.getTime())) return '--:--:--';
  return [date.getHours(), date.getMinutes(), date.getSeconds()]
    .map((part) => String(part).padStart(2, '0'))
    .join(':');
}

const colourers = { true: colorizerFactory(true), false: colorizerFactory(false) };

/**
 * One JSON log line as a person reads it, on one line: `HH:MM:ss app LEVEL message key=value ...`,
 * the level coloured (pino-pretty's colours) and the fields dimmed when `colour`. A line that is not
 * a JSON object (something a dependency printed) is passed on as it is.
 */
export function prettyLogLine(line: string, colour: boolean): string {
  const text = line.endsWith('\n') ? line.slice(0, -1) : line;
  let entry: unknown;
  try {
    entry = text.startsWith('{') ? JSON.parse(text) : undefined;
  } catch {
    entry = undefined;
  }
  if (typeof entry !== 'object' || entry === null) return `${text}\n`;
  const log = requestLine(entry as Record<string, unknown>);
  const colourer = colourers[colour ? 'true' : 'false'];
  const app = typeof log.service === 'string' ? log.service : '';
  const level = colourer(typeof log.level === 'number' ? log.level : 30);
  const fields = logFields(log);
  const parts = [
    colourer.greyMessage(clock(log.time)),
    colour ? `\x1b[1m${app.padEnd(APP_WIDTH)}\x1b[22m` : app.padEnd(APP_WIDTH),
    level,
    typeof log.msg === 'string' ? log.msg : '',
  ];
  if (fields) parts.push(colourer.greyMessage(fields));
  return `${parts.join(' ')}\n`;
}

/** A request's log line (pino-http), its method, path, status and time put in the message. */
function requestLine(log: Record<string, unknown>): Record<string, unknown> {
  const { req, res } = log as { req?: { method?: unknown; url?: unknown }; res?: { statusCode?: unknown } };
  if (typeof req !== 'object' || typeof res !== 'object') return log;
  const time = typeof log.responseTime === 'number' ? ` ${String(log.responseTime)}ms` : '';
  const line = Object.fromEntries(Object.entries(log).filter(([key]) => !REQUEST_FIELDS.has(key)));
  line.msg = `${String(req.method)} ${String(req.url)} → ${String(res.statusCode)}${time}`;
  return line;
}
