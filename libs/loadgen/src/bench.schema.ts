import { SERVICE_ID_PATTERN } from '@aiplane/contracts';
import { z } from 'zod';
import { BenchInputError } from './bench.errors';
import type { BenchOptions } from './bench.types';

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/;

export const DEFAULT_PROMPT_TOKENS = 128;
export const DEFAULT_OUTPUT_TOKENS = 128;
export const DEFAULT_REQUESTS = 100;
export const DEFAULT_MAX_IN_FLIGHT = 1_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;

/** `30s`, `500ms`, `2m`, `1.5h`; a bare number (or a number value) is seconds. Undefined when it is none of these. */
export function durationToMs(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? value * 1_000 : undefined;
  const match = DURATION_PATTERN.exec(value.trim());
  const amount = match?.[1];
  if (match === null || amount === undefined) return undefined;
  const ms = Number(amount) * (DURATION_UNITS_MS[match[2] ?? 's'] ?? 1_000);
  return ms > 0 ? ms : undefined;
}

const duration = (what: string) =>
  z.union([z.string(), z.number()]).transform((value, context) => {
    const ms = durationToMs(value);
    if (ms === undefined) {
      context.addIssue({
        code: 'custom',
        message: `"${String(value)}" is not a ${what}: use e.g. 30s, 500ms, 2m or 1h (a bare number is seconds)`,
      });
      return z.NEVER;
    }
    return ms;
  });

const whole = (min: number, max: number) =>
  z
    .number({ error: 'must be a number' })
    .int({ error: (issue) => `must be a whole number, got ${String(issue.input)}` })
    .min(min, { error: (issue) => `must be at least ${String(min)}, got ${String(issue.input)}` })
    .max(max, { error: (issue) => `must be at most ${String(max)}, got ${String(issue.input)}` });

const inputSchema = z.strictObject({
  url: z.string().refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.search === '' && url.hash === '';
    } catch {
      return false;
    }
  }, "must be the gateway's http(s) base URL without query, e.g. http://127.0.0.1:8001"),
  serviceId: z
    .string()
    .regex(
      SERVICE_ID_PATTERN,
      'is not a service id: ids are digits (the scheduler job id, e.g. 3652098) or sg-<job id> for a group',
    )
    .optional(),
  model: z.string().trim().min(1, 'must not be empty').optional(),
  api: z.enum(['chat', 'completions'], { error: 'must be chat or completions' }).default('chat'),
  concurrency: whole(1, 10_000).optional(),
  rate: z
    .number({ error: 'must be a number of requests per second' })
    .positive('must be more than 0 requests per second')
    .max(100_000, 'must be at most 100000 requests per second')
    .optional(),
  maxInFlight: whole(1, 100_000).default(DEFAULT_MAX_IN_FLIGHT),
  promptTokens: whole(1, 1_000_000).optional(),
  dataset: z.string().min(1, 'must be a file path').optional(),
  outputTokens: whole(1, 1_000_000).default(DEFAULT_OUTPUT_TOKENS),
  duration: duration('duration').optional(),
  requests: whole(1, 10_000_000).optional(),
  warmup: whole(0, 1_000_000).default(0),
  seed: whole(0, Number.MAX_SAFE_INTEGER).default(0),
  // zod 4 hands a default out as it is, past the transform: so in ms.
  requestTimeout: duration('timeout').default(DEFAULT_REQUEST_TIMEOUT_MS),
  vllmExtensions: z.boolean().default(true),
});

/** What `parseBenchOptions` accepts: numbers as numbers, durations as `30s`-style text or seconds. */
export type BenchOptionsInput = z.input<typeof inputSchema>;

/** How an option is named in messages: the CLI passes its flags (`rate` → `--rate`). */
export type OptionLabel = (key: keyof BenchOptionsInput) => string;

const plainLabel: OptionLabel = (key) => key;

/**
 * Checks options and applies defaults; throws `BenchInputError` listing every problem in words a
 * person can act on. Closed loop at concurrency 1 when neither concurrency nor rate is given;
 * 100 requests when neither requests nor duration is.
 */
export function parseBenchOptions(input: unknown, label: OptionLabel = plainLabel): BenchOptions {
  const parsed = inputSchema.safeParse(input);
  if (!parsed.success) {
    throw new BenchInputError(
      parsed.error.issues.map((issue) => {
        const key = issue.path[0];
        if (issue.code === 'unrecognized_keys') return `unknown option(s): ${issue.keys.join(', ')}`;
        if (typeof key !== 'string') return issue.message;
        return `${label(key as keyof BenchOptionsInput)}: ${issue.message}`;
      }),
    );
  }
  const o = parsed.data;
  const problems: string[] = [];
  const both = (a: keyof BenchOptionsInput, b: keyof BenchOptionsInput, why: string): void => {
    problems.push(`${label(a)} and ${label(b)} cannot be used together: ${why}`);
  };
  if (o.serviceId === undefined && o.model === undefined) {
    problems.push(
      `say what to load: a service id (the service's own routes) or ${label('model')} (the gateway routes by model)`,
    );
  }
  if (o.concurrency !== undefined && o.rate !== undefined) {
    both('concurrency', 'rate', 'give a concurrency for a closed loop or a rate for an open loop');
  }
  if (o.duration !== undefined && o.requests !== undefined) {
    both('duration', 'requests', 'stop after a duration or after a number of requests');
  }
  if (o.dataset !== undefined && o.promptTokens !== undefined) {
    both('dataset', 'promptTokens', 'the prompts come from the dataset or are made of that many tokens');
  }
  if (isRecord(input) && input.maxInFlight !== undefined && o.rate === undefined) {
    problems.push(`${label('maxInFlight')} applies to an open loop only: give ${label('rate')} too`);
  }
  if (problems.length > 0) throw new BenchInputError(problems);

  const requests = o.duration === undefined ? (o.requests ?? DEFAULT_REQUESTS) : undefined;
  return {
    url: o.url.replace(/\/+$/, ''),
    serviceId: o.serviceId,
    model: o.model,
    api: o.api,
    concurrency: o.rate === undefined ? (o.concurrency ?? 1) : undefined,
    rate: o.rate,
    maxInFlight: o.maxInFlight,
    promptTokens: o.dataset === undefined ? (o.promptTokens ?? DEFAULT_PROMPT_TOKENS) : undefined,
    dataset: o.dataset,
    outputTokens: o.outputTokens,
    durationMs: o.duration,
    requests,
    warmup: o.warmup,
    seed: o.seed,
    requestTimeoutMs: o.requestTimeout,
    vllmExtensions: o.vllmExtensions,
  };
}

/** A JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
