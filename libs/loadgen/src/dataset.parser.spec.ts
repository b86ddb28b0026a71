import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchInputError } from './bench.errors';
import { loadDataset, parseDataset } from './dataset.parser';

function refusal(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof BenchInputError) return error.problems;
    throw error;
  }
  throw new Error('accepted');
}

describe('parseDataset', () => {
  it('reads prompts and conversations, one per non-blank line, extra fields ignored', () => {
    const text = [
      '{"prompt": "Tell me a joke", "id": 1}',
      '',
      '{"messages": [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Hi"}]}',
      '   ',
    ].join('\r\n');
    expect(parseDataset(text, 'd.jsonl', 'chat')).toEqual([
      { kind: 'text', text: 'Tell me a joke' },
      {
        kind: 'messages',
        messages: [
          { role: 'system', content: 'Be brief' },
          { role: 'user', content: 'Hi' },
        ],
      },
    ]);
  });

  it('names each bad line by its number and says what a good one looks like', () => {
    const text = ['{"prompt": "ok"}', '{"prompt": ', '{"text": "x"}', '[1,2]', '{"messages": []}'].join('\n');
    expect(refusal(() => parseDataset(text, 'd.jsonl', 'chat'))).toEqual([
      expect.stringMatching(/^d\.jsonl line 2: not JSON \(/),
      'd.jsonl line 3: each line must be {"prompt": "<text>"} or {"messages": [{"role": "user", "content": "<text>"}, ...]}',
      expect.stringMatching(/^d\.jsonl line 4: each line must be/),
      expect.stringMatching(/^d\.jsonl line 5: each line must be/),
    ]);
  });

  it('lists the first five bad lines and counts the rest', () => {
    const text = Array.from({ length: 8 }, () => 'nope').join('\n');
    const listed = refusal(() => parseDataset(text, 'd.jsonl', 'chat'));
    expect(listed).toHaveLength(6);
    expect(listed[4]).toMatch(/^d\.jsonl line 5: not JSON/);
    expect(listed[5]).toBe('... and 3 more bad lines');
  });

  it('refuses conversations for the completions API, and a file without prompts', () => {
    expect(
      refusal(() =>
        parseDataset('{"messages": [{"role": "user", "content": "Hi"}]}', 'd.jsonl', 'completions'),
      ),
    ).toEqual([
      expect.stringMatching(/^d\.jsonl line 1: has "messages", but the completions API takes a "prompt"/),
    ]);
    expect(refusal(() => parseDataset('\n\n', 'd.jsonl', 'chat'))).toEqual([
      'd.jsonl: no prompts (the file has no non-blank line)',
    ]);
  });
});

describe('loadDataset', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loadgen-dataset-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads a file, and says why one cannot be read', async () => {
    const file = join(dir, 'ok.jsonl');
    writeFileSync(file, '{"prompt": "a"}\n{"prompt": "b"}\n');
    await expect(loadDataset(file, 'completions')).resolves.toHaveLength(2);
    await expect(loadDataset(join(dir, 'missing.jsonl'), 'chat')).rejects.toThrow(
      /missing\.jsonl: no such file/,
    );
    await expect(loadDataset(dir, 'chat')).rejects.toThrow(/is a directory/);
  });
});
