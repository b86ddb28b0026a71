import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { BenchInputError } from './bench.errors';
import type { BenchApi, BenchPrompt } from './bench.types';

const MAX_PROBLEMS = 5;

const lineSchema = z.union([
  z.looseObject({ prompt: z.string().min(1) }),
  z.looseObject({
    messages: z.array(z.looseObject({ role: z.string().min(1), content: z.string() })).min(1),
  }),
]);

const SHAPE =
  'each line must be {"prompt": "<text>"} or {"messages": [{"role": "user", "content": "<text>"}, ...]}';

/**
 * The prompts of a JSONL dataset, one per non-blank line. Every bad line is named by its number
 * (the first few of them), and nothing is sent while any is bad.
 */
export function parseDataset(text: string, source: string, api: BenchApi): BenchPrompt[] {
  const prompts: BenchPrompt[] = [];
  const problems: string[] = [];
  let bad = 0;
  const problem = (line: number, what: string): void => {
    bad++;
    if (problems.length < MAX_PROBLEMS) problems.push(`${source} line ${String(line)}: ${what}`);
  };
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      problem(line, `not JSON (${error instanceof Error ? error.message : String(error)})`);
      return;
    }
    const parsed = lineSchema.safeParse(value);
    if (!parsed.success) {
      problem(line, SHAPE);
      return;
    }
    if ('prompt' in parsed.data && typeof parsed.data.prompt === 'string') {
      prompts.push({ kind: 'text', text: parsed.data.prompt });
      return;
    }
    if (api === 'completions') {
      problem(
        line,
        'has "messages", but the completions API takes a "prompt": use the chat API for conversations',
      );
      return;
    }
    const messages = (parsed.data as { messages: { role: string; content: string }[] }).messages;
    prompts.push({ kind: 'messages', messages: messages.map(({ role, content }) => ({ role, content })) });
  });
  if (bad > problems.length) problems.push(`... and ${String(bad - problems.length)} more bad lines`);
  if (problems.length > 0) throw new BenchInputError(problems);
  if (prompts.length === 0)
    throw new BenchInputError([`${source}: no prompts (the file has no non-blank line)`]);
  return prompts;
}

/** Reads and parses a dataset file; a file that cannot be read is a BenchInputError saying why. */
export async function loadDataset(path: string, api: BenchApi): Promise<BenchPrompt[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory'
          : code === 'EACCES'
            ? 'not readable'
            : String(error);
    throw new BenchInputError([`dataset ${path}: ${why}`]);
  }
  return parseDataset(text, path, api);
}
