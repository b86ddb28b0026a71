import { BenchInputError } from './bench.errors';
import { durationToMs, parseBenchOptions, type OptionLabel } from './bench.schema';

const flag: OptionLabel = (key) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
const base = { url: 'http://127.0.0.1:8001/', serviceId: '1000' };

function problems(input: unknown): string[] {
  try {
    parseBenchOptions(input, flag);
  } catch (error) {
    if (error instanceof BenchInputError) return error.problems;
    throw error;
  }
  throw new Error('accepted');
}

describe('parseBenchOptions', () => {
  it('fills the defaults: closed loop of 1, 100 requests of 128 prompt and 128 output tokens', () => {
    expect(parseBenchOptions(base)).toEqual({
      url: 'http://127.0.0.1:8001',
      serviceId: '1000',
      model: undefined,
      api: 'chat',
      concurrency: 1,
      rate: undefined,
      maxInFlight: 1_000,
      promptTokens: 128,
      dataset: undefined,
      outputTokens: 128,
      durationMs: undefined,
      requests: 100,
      warmup: 0,
      seed: 0,
      requestTimeoutMs: 120_000,
      vllmExtensions: true,
    });
  });

  it('takes an open loop for a duration, with a dataset instead of synthetic prompts', () => {
    const options = parseBenchOptions({
      url: 'https://gw.example',
      model: 'Qwen/Qwen2.5-0.5B-Instruct',
      rate: 2.5,
      maxInFlight: 8,
      duration: '1.5m',
      dataset: 'prompts.jsonl',
    });
    expect(options).toMatchObject({
      concurrency: undefined,
      rate: 2.5,
      maxInFlight: 8,
      durationMs: 90_000,
      requests: undefined,
      promptTokens: undefined,
      dataset: 'prompts.jsonl',
    });
  });

  it.each([
    [{ url: 'http://x:1' }, /say what to load: a service id .* or --model/],
    [{ ...base, concurrency: 2, rate: 3 }, /--concurrency and --rate cannot be used together/],
    [{ ...base, duration: '10s', requests: 5 }, /--duration and --requests cannot be used together/],
    [
      { ...base, dataset: 'a.jsonl', promptTokens: 5 },
      /--dataset and --prompt-tokens cannot be used together/,
    ],
    [{ ...base, maxInFlight: 5 }, /--max-in-flight applies to an open loop only: give --rate too/],
    [{ ...base, duration: 'soon' }, /--duration: "soon" is not a duration: use e\.g\. 30s/],
    [{ ...base, concurrency: 0 }, /--concurrency: must be at least 1, got 0/],
    [{ ...base, outputTokens: 2.5 }, /--output-tokens: must be a whole number, got 2\.5/],
    [{ ...base, rate: -1 }, /--rate: must be more than 0 requests per second/],
    [{ ...base, serviceId: 'abc' }, /--service-id: is not a service id/],
    [{ ...base, url: 'ftp://host' }, /--url: must be the gateway's http\(s\) base URL/],
    [{ ...base, api: 'embeddings' }, /--api: must be chat or completions/],
    [{ ...base, concurency: 3 }, /unknown option\(s\): concurency/],
  ])('refuses %j with a message naming what to change', (input, message) => {
    expect(problems(input).join('\n')).toMatch(message);
  });

  it('lists every problem at once', () => {
    expect(problems({ url: 'x', concurrency: 0, outputTokens: 0 })).toHaveLength(3);
  });
});

describe('durationToMs', () => {
  it.each([
    ['30s', 30_000],
    ['500ms', 500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['45', 45_000],
    [' 1.5 s ', 1_500],
    [3, 3_000],
  ])('%j is %d ms', (value, ms) => {
    expect(durationToMs(value)).toBe(ms);
  });

  it.each(['', '0s', '-1s', '5 minutes', 'NaN', '1e3'])('%j is no duration', (value) => {
    expect(durationToMs(value)).toBeUndefined();
  });
});
