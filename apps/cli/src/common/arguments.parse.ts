import { SERVICE_ID_PATTERN } from '@aiplane/contracts';
import { InvalidArgumentError } from 'commander';

// Parsers for commander's arguments and options: a bad value is refused before anything is sent,
// as a usage error that says what a good one looks like.

export function parseServiceId(value: string): string {
  if (!SERVICE_ID_PATTERN.test(value)) {
    throw new InvalidArgumentError(
      `"${value}" is not a service id: ids are the scheduler's job id (digits, e.g. 3652098) or a group's sg-<job id>; ` +
        '`aiplane services ls` lists them',
    );
  }
  return value;
}

export function parseGroupId(value: string): string {
  if (!SERVICE_ID_PATTERN.test(value)) {
    throw new InvalidArgumentError(
      `"${value}" is not a group id: use sg-<job id> or the bare job id (digits); \`aiplane groups ls\` lists them`,
    );
  }
  return value;
}

/** A whole number within bounds, for counts like --lines and --limit. */
export function integerParser(min: number, max: number): (value: string) => number {
  return (value) => {
    const parsed = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(
        `"${value}" is not a whole number from ${String(min)} to ${String(max)}`,
      );
    }
    return parsed;
  };
}

/** A number within bounds, decimals allowed (temperature). */
export function numberParser(min: number, max: number): (value: string) => number {
  return (value) => {
    const parsed = value.trim() === '' ? Number.NaN : Number(value);
    if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`"${value}" is not a number from ${String(min)} to ${String(max)}`);
    }
    return parsed;
  };
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `90`, `90s`, `5m`, `1.5h`, `500ms` → milliseconds (a bare number is seconds). */
export function parseDuration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  const amount = match?.[1];
  if (match === null || amount === undefined) {
    throw new InvalidArgumentError(
      `"${value}" is not a duration: use e.g. 90s, 5m or 1h (a bare number is seconds)`,
    );
  }
  const ms = Number(amount) * (DURATION_UNITS_MS[match[2] ?? 's'] ?? 1000);
  if (ms <= 0) throw new InvalidArgumentError(`"${value}" is not a positive duration`);
  return ms;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Collects repeated `--env KEY=VALUE` into one object; the value may contain `=`. */
export function collectEnv(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf('=');
  const name = at < 0 ? value : value.slice(0, at);
  if (at < 0 || !ENV_NAME.test(name)) {
    throw new InvalidArgumentError(
      `"${value}" is not KEY=VALUE with KEY a variable name (letters, digits, _; not starting with a digit)`,
    );
  }
  return { ...previous, [name]: value.slice(at + 1) };
}

/** `--config '{...}'`: a JSON object, parsed here so a syntax error names the flag. */
export function parseJsonObject(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new InvalidArgumentError(`not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidArgumentError('must be a JSON object, e.g. \'{"resources": {"gpu": 1}}\'');
  }
  return parsed as Record<string, unknown>;
}
