import { z } from 'zod';

export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIG';
}

/**
 * Parses an app's environment against its schema, failing with one message that names every bad
 * variable: a service that starts on half-valid config fails later and further from the cause.
 */
export function parseConfig<S extends z.ZodType>(
  app: string,
  schema: S,
  env: Readonly<Record<string, string | undefined>>,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
  );
  throw new ConfigError(`${app}: invalid configuration\n  ${problems.join('\n  ')}`);
}

/** Environment flags arrive as strings; "false" must not be truthy. */
export const booleanFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

export const portFromEnv = z.coerce.number().int().min(0).max(65535);

export const durationMsFromEnv = z.coerce.number().int().min(1).max(86_400_000);

// Shell wrappers often export a variable as empty instead of leaving it unset; both mean "use the default".
export const blankToUndefined = (value: unknown): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/** A whole number in [min, max]; unset or blank gives `fallback`. */
export const intFromEnv = (min: number, max: number, fallback: number) =>
  z.preprocess(blankToUndefined, z.coerce.number().int().min(min).max(max).default(fallback));

/** Trimmed, non-empty text; unset or blank gives `fallback`. */
export const textFromEnv = (fallback: string) =>
  z.preprocess(blankToUndefined, z.string().trim().min(1).default(fallback));

/** Trimmed, non-empty text, or undefined when unset or blank. */
export const optionalTextFromEnv = z.preprocess(blankToUndefined, z.string().trim().min(1).optional());

/** The least a bearer token between the hops may hold: 32 bytes, as `openssl rand -hex 16` gives. */
export const MIN_TOKEN_BYTES = 32;

/**
 * A bearer token a process refuses to start without: others on the login node can reach its
 * listeners, and a short token can be guessed.
 */
export const requiredTokenFromEnv = z.preprocess(
  blankToUndefined,
  z
    .string({
      error: `is required: at least ${String(MIN_TOKEN_BYTES)} bytes, e.g. from "openssl rand -hex 32"`,
    })
    .refine((value) => Buffer.byteLength(value) >= MIN_TOKEN_BYTES, {
      error: `must be at least ${String(MIN_TOKEN_BYTES)} bytes, e.g. from "openssl rand -hex 32"`,
    }),
);

/** Like requiredTokenFromEnv, but unset or blank gives undefined (a default from another variable). */
export const optionalTokenFromEnv = z.preprocess(
  blankToUndefined,
  z
    .string()
    .refine((value) => Buffer.byteLength(value) >= MIN_TOKEN_BYTES, {
      error: `must be at least ${String(MIN_TOKEN_BYTES)} bytes, e.g. from "openssl rand -hex 32"`,
    })
    .optional(),
);

/**
 * Parses `env` against `schema`, or lists every bad variable as `NAME="value": why`: for processes
 * started by a job script (the simulators), whose operator must see the value the script set.
 */
export function parseEnvVariables<S extends z.ZodType>(
  schema: S,
  env: Readonly<Record<string, string | undefined>>,
): { ok: true; data: z.infer<S> } | { ok: false; problems: string[] } {
  const parsed = schema.safeParse(env);
  if (parsed.success) return { ok: true, data: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.map((issue) => {
      const name = issue.path.join('.');
      return `${name}=${JSON.stringify(env[name])}: ${issue.message}`;
    }),
  };
}

/**
 * How an app writes its log: `json` (the default: production, and what the stack's supervisor reads
 * its readiness from) or `pretty` (one coloured line per entry, for a person at a terminal).
 */
export const logFormatFromEnv = z.preprocess(
  blankToUndefined,
  z.enum(['json', 'pretty'], { error: 'must be "json" or "pretty"' }).default('json'),
);

/**
 * How often an app without an HTTP surface of its own publishes its metrics to Redis (each
 * snapshot lives three intervals): the staleness of its series, at most.
 */
export const metricsPublishIntervalFromEnv = z.preprocess(
  blankToUndefined,
  z.coerce.number().int().min(100).max(300_000).default(5_000),
);
