import fc from 'fast-check';

import {
  countTokens,
  generate,
  hash32,
  normalizeStop,
  renderChatPrompt,
  tokenize,
  VOCABULARY,
  type GenerateInput,
} from './generation';

const MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';
const base: GenerateInput = { model: MODEL, prompt: 'Once upon a time', maxTokens: 16 };

describe('tokenizer', () => {
  it('splits words and punctuation, ignoring whitespace', () => {
    expect(tokenize('Hello, world!  How are   you?')).toEqual([
      'Hello',
      ',',
      'world',
      '!',
      'How',
      'are',
      'you',
      '?',
    ]);
    expect(countTokens('')).toBe(0);
    expect(countTokens('  \n\t ')).toBe(0);
    expect(tokenize('naïve café 42_x')).toEqual(['naïve', 'café', '42_x']);
  });

  it('counts chat special markers as one token each', () => {
    const prompt = renderChatPrompt([{ role: 'user', content: 'Hello there' }]);
    expect(prompt).toBe('<|im_start|>user\nHello there<|im_end|>\n<|im_start|>assistant\n');
    // im_start, user, Hello, there, im_end, im_start, assistant
    expect(countTokens(prompt)).toBe(7);
  });
});

describe('generate', () => {
  it('produces the same pinned text for the same input (golden)', () => {
    const result = generate(base);
    expect(result.text).toBe(
      'Runs and paper system batch window clear result quiet under window makes. Window while river',
    );
    expect(result).toMatchObject({ completionTokens: 16, finishReason: 'length', stopReason: null });
  });

  it('is a pure function of its inputs', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.integer({ min: 1, max: 200 }),
        fc.double({ min: 0, max: 2, noNaN: true }),
        (p, n, t) => {
          const input = { model: MODEL, prompt: p, maxTokens: n, temperature: t };
          expect(generate(input)).toEqual(generate({ ...input }));
        },
      ),
    );
  });

  it('generates exactly max_tokens tokens, which the tokenizer counts back', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 300 }), (p, n) => {
        const result = generate({ model: MODEL, prompt: p, maxTokens: n });
        expect(result.completionTokens).toBe(n);
        expect(result.pieces).toHaveLength(n);
        expect(result.pieces.join('')).toBe(result.text);
        expect(countTokens(result.text)).toBe(n);
        expect(result.finishReason).toBe('length');
      }),
    );
  });

  it('makes a shorter max_tokens a prefix of a longer one, like greedy decoding', () => {
    const short = generate({ ...base, maxTokens: 5 });
    const long = generate({ ...base, maxTokens: 50 });
    expect(long.text.startsWith(short.text)).toBe(true);
    expect(long.pieces.slice(0, 5)).toEqual(short.pieces);
  });

  it('depends on model, prompt and temperature', () => {
    const text = generate(base).text;
    expect(generate({ ...base, model: 'gpt2' }).text).not.toBe(text);
    expect(generate({ ...base, prompt: 'Once upon a time.' }).text).not.toBe(text);
    expect(generate({ ...base, temperature: 0 }).text).not.toBe(text);
    // vLLM's default temperature is 1: leaving it out is the same request.
    expect(generate({ ...base, temperature: 1 }).text).toBe(text);
  });

  it('only uses the fixed vocabulary and punctuation', () => {
    const words = tokenize(generate({ ...base, maxTokens: 500 }).text);
    for (const word of words) {
      expect([...VOCABULARY, '.', ','].includes(word.toLowerCase())).toBe(true);
    }
  });

  it('cuts the text before a stop string and reports it', () => {
    const full = generate({ ...base, maxTokens: 40 });
    const stop = ' window';
    const at = full.text.indexOf(stop);
    expect(at).toBeGreaterThan(0);

    const result = generate({ ...base, maxTokens: 40, stop: [stop, 'never-present'] });
    expect(result.text).toBe(full.text.slice(0, at));
    expect(result.finishReason).toBe('stop');
    expect(result.stopReason).toBe(stop);
    expect(result.pieces.join('')).toBe(result.text);
    // The token that completed the stop string was generated, so it is counted.
    expect(result.completionTokens).toBe(countTokens(full.text.slice(0, at + stop.length)));
  });

  it('handles stop strings spanning several tokens', () => {
    const full = generate({ ...base, maxTokens: 40 });
    const stop = full.text.slice(10, 24);
    const result = generate({ ...base, maxTokens: 40, stop });
    expect(result.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
    expect(result.stopReason).toBe(stop);
    expect(result.pieces.join('')).toBe(result.text);
    expect(result.pieces.at(-1)).toBe('');
  });

  it('prefers length when the stop string never shows up within max_tokens', () => {
    const result = generate({ ...base, stop: ['\n'] });
    expect(result).toMatchObject({ finishReason: 'length', stopReason: null, completionTokens: 16 });
  });

  it('without max_tokens ends on its own at a sentence end (EOS)', () => {
    fc.assert(
      fc.property(fc.string(), (p) => {
        const result = generate({ model: MODEL, prompt: p });
        expect(result.finishReason).toBe('stop');
        expect(result.stopReason).toBeNull();
        expect(result.text.endsWith('.')).toBe(true);
        expect(result.completionTokens).toBeGreaterThanOrEqual(16);
        expect(result.completionTokens).toBeLessThan(100);
      }),
    );
  });

  it('without max_tokens stops at the context limit', () => {
    const result = generate({ model: MODEL, prompt: 'x', limit: 3 });
    expect(result).toMatchObject({ completionTokens: 3, finishReason: 'length' });
  });
});

describe('helpers', () => {
  it('normalizes stop parameters', () => {
    expect(normalizeStop(undefined)).toEqual([]);
    expect(normalizeStop(null)).toEqual([]);
    expect(normalizeStop('x')).toEqual(['x']);
    expect(normalizeStop(['a', '', 'b'])).toEqual(['a', 'b']);
  });

  it('hashes stably (FNV-1a)', () => {
    expect(hash32('')).toBe(0x811c9dc5);
    expect(hash32('a')).toBe(0xe40c292c);
  });
});
