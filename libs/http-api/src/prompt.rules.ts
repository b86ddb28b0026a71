import type { PromptRequest } from '@aiplane/contracts';
import { PROMPT_MAX_CHARS } from './prompt.dto';

type FieldCheck = (value: unknown) => boolean;

const isNumberIn =
  (min: number, max: number): FieldCheck =>
  (value) =>
    typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max;
const isIntIn =
  (min: number, max: number): FieldCheck =>
  (value) =>
    typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
const isTextUpTo =
  (max: number): FieldCheck =>
  (value) =>
    typeof value === 'string' && value.length <= max;

/** PromptDto's rules, one plain check per field; every field but `prompt` may be left out. */
const FIELDS: Readonly<Record<keyof PromptRequest, FieldCheck>> = {
  prompt: (value) => typeof value === 'string' && value !== '' && value.length <= PROMPT_MAX_CHARS,
  max_tokens: isIntIn(1, 32_768),
  temperature: isNumberIn(0, 2),
  model: isTextUpTo(256),
  top_p: isNumberIn(0, 1),
  stop: (value) => Array.isArray(value) && value.length <= 8 && value.every(isTextUpTo(256)),
  presence_penalty: isNumberIn(-2, 2),
  frequency_penalty: isNumberIn(-2, 2),
  seed: isIntIn(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
  stream: (value) => typeof value === 'boolean',
};

/**
 * The prompt body when it plainly satisfies PromptDto, else undefined. class-validator costs the
 * proxy about 0.3 ms per prompt, most of its CPU on that route; this check costs microseconds. It
 * only ever accepts what the DTO accepts (a spec holds it to that over generated bodies); anything
 * it is unsure of (a null, a surrogate pair near a limit, an unknown field) goes to the DTO's
 * validation, whose messages stay the one wording of every refusal.
 */
export function plainPrompt(body: unknown): PromptRequest | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const fields = body as Record<string, unknown>;
  if (fields.prompt === undefined) return undefined;
  for (const name of Object.keys(fields)) {
    const check = Object.hasOwn(FIELDS, name) ? FIELDS[name as keyof PromptRequest] : undefined;
    if (check === undefined || !check(fields[name])) return undefined;
  }
  return fields as unknown as PromptRequest;
}
