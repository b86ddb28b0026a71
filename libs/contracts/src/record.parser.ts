import { z } from 'zod';

/** A stored record (in Redis or on disk) that does not have the shape its readers rely on. */
export class CorruptRecordError extends Error {
  readonly code = 'CORRUPT_RECORD';

  constructor(
    /** Where the record lives: its Redis key or file path. */
    readonly key: string,
    readonly problem: string,
  ) {
    super(`corrupt record ${key}: ${problem}`);
  }
}

/**
 * Parses a stored JSON document against its schema, so a malformed one is reported at the read,
 * naming its key, rather than as a TypeError wherever a missing field is first used.
 */
export function parseJsonRecord<S extends z.ZodType>(key: string, schema: S, text: string): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CorruptRecordError(key, 'not JSON');
  }
  return parseRecord(key, schema, value);
}

/** The same for a record already decoded (a Redis hash, a field holding JSON). */
export function parseRecord<S extends z.ZodType>(key: string, schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
  );
  throw new CorruptRecordError(key, problems.join('; '));
}
