import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { PROMPT_MAX_CHARS, PromptDto } from './prompt.dto';
import { plainPrompt } from './prompt.rules';

/** What the proxy's validation pipe decides: the DTO with whitelist, forbidNonWhitelisted, forbidUnknownValues. */
function dtoAccepts(body: unknown): boolean {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const instance = plainToInstance(PromptDto, body);
  return (
    validateSync(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true })
      .length === 0
  );
}

/** A small deterministic generator, so a failure names a body that can be replayed. */
function generator(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const CANDIDATES: Readonly<Record<string, readonly unknown[]>> = {
  prompt: [
    'hi',
    '',
    'x'.repeat(PROMPT_MAX_CHARS),
    'x'.repeat(PROMPT_MAX_CHARS + 1),
    '😀'.repeat(150_000),
    7,
    null,
  ],
  max_tokens: [1, 0, 32_768, 32_769, 1.5, '8', null, -1],
  temperature: [0, 2, 2.01, -0.1, 0.7, '0.7', null, true],
  model: ['gpt2', '', 'm'.repeat(256), 'm'.repeat(257), 3, null],
  top_p: [0, 1, 1.01, 0.95, null, '1'],
  stop: [[], ['\n'], Array(8).fill('a'), Array(9).fill('a'), ['s'.repeat(257)], [1], 'stop', null],
  presence_penalty: [-2, 2, 2.5, 0, null],
  frequency_penalty: [-2, -2.5, 1, null],
  seed: [42, -1, 4.2, 2 ** 60, null, '42'],
  stream: [true, false, 'true', 1, null],
  messages: [[{ role: 'user', content: 'hi' }]],
  __proto__: [{ polluted: true }],
};

describe('plainPrompt', () => {
  it('takes the usual prompts as they are', () => {
    for (const body of [
      { prompt: 'Tell me a joke about programming', max_tokens: 100 },
      { prompt: 'hi', max_tokens: 8, temperature: 0, model: 'gpt2', stream: true },
      { prompt: 'hi', top_p: 0.9, stop: ['\n\n'], seed: 42, presence_penalty: 0, frequency_penalty: 0 },
    ]) {
      expect(plainPrompt(body)).toBe(body);
      expect(dtoAccepts(body)).toBe(true);
    }
  });

  it('leaves everything else to the DTO', () => {
    for (const body of [
      null,
      [],
      'hi',
      {},
      { prompt: 'hi', extra: 1 },
      JSON.parse('{"prompt":"hi","__proto__":{}}'),
    ])
      expect(plainPrompt(body)).toBeUndefined();
  });

  it('accepts only bodies the DTO accepts, over 5,000 generated bodies', () => {
    const random = generator(20261203);
    const names = Object.keys(CANDIDATES);
    let taken = 0;
    for (let i = 0; i < 5_000; i += 1) {
      const body: Record<string, unknown> = {};
      for (const name of names) {
        if (name !== 'prompt' && random() < 0.8) continue;
        if (name === 'prompt' && random() < 0.05) continue;
        const values = CANDIDATES[name] ?? [];
        Object.defineProperty(body, name, {
          value: values[Math.floor(random() * values.length)],
          enumerable: true,
          configurable: true,
          writable: true,
        });
      }
      if (plainPrompt(body) !== undefined) {
        taken += 1;
        if (!dtoAccepts(body))
          throw new Error(`plainPrompt took a body the DTO refuses: ${JSON.stringify(body)}`);
      }
    }
    // The fast path must actually serve: some hundreds of the generated bodies are valid ones.
    expect(taken).toBeGreaterThan(250);
  });
});
