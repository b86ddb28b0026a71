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
