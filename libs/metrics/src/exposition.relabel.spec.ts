import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { parseExposition } from './exposition.parser';
import { mergeExpositions, relabel } from './exposition.relabel';
import { InvalidLabelError, MetricsParseError } from './metrics.errors';
import { statusGauge } from './service-up.gauge';

const UPDATE_GOLDEN = process.env.UPDATE_GOLDEN === '1';
const GOLDEN = join(__dirname, '__golden__');
const LABELS = { service_id: '3652098', replica_id: '3652098:8002' };
const ADDED = 'service_id="3652098",replica_id="3652098:8002"';

const read = (file: string): string => readFileSync(join(GOLDEN, file), 'utf8');

function expectGolden(file: string, actual: string): void {
  const path = join(GOLDEN, file);
  if (UPDATE_GOLDEN) writeFileSync(path, actual);
  if (!existsSync(path))
    throw new Error(`${file} is missing: run the spec with UPDATE_GOLDEN=1 and review the result`);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

/** The output with the added labels taken out again, line by line. */
function withoutAdded(text: string): string {
  return text.replaceAll(`{${ADDED}}`, '').replaceAll(`,${ADDED}}`, '}');
}

const sampleLines = (text: string): string[] =>
  text.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));

describe('relabel golden files', () => {
  // Captured from the simulators' SimMetrics after a few requests (prom-client's format, as vLLM's own
  // Python client writes it); the Qdrant one without blank lines, as Qdrant's Rust encoder writes it.
  it.each(['vllm-sim', 'qdrant'])('%s: adds the labels to every sample and changes nothing else', (name) => {
    const input = read(`${name}.input.txt`);
    const output = relabel(input, LABELS);
    expectGolden(`${name}.relabelled.txt`, output);
    for (const line of sampleLines(output))
      expect(line).toMatch(/\{.*service_id="3652098",replica_id="3652098:8002"\} /);
    const strip = (text: string): string[] => text.split('\n').filter((line) => line !== '');
    expect(strip(withoutAdded(output))).toEqual(strip(input));
  });

  it('vllm-sim: keeps every labelled histogram line, which the parser alone folds away', () => {
    const input = read('vllm-sim.input.txt');
    const ttft = 'vllm:time_to_first_token_seconds';
    // The raw parser's view: one sample without model_name, no _sum, no _count.
    const raw = parsePrometheusTextFormat(input).find((family) => family.name === ttft);
    expect(raw?.metrics).toHaveLength(1);
    expect(raw?.metrics[0]?.labels).toBeUndefined();
    expect(raw?.metrics[0]?.sum).toBeUndefined();

    const output = relabel(input, LABELS);
    const model = 'engine="0",model_name="Qwen/Qwen2.5-0.5B-Instruct"';
    expect(output).toContain(`${ttft}_bucket{le="+Inf",${model},${ADDED}} 2\n`);
    expect(output).toContain(`${ttft}_sum{${model},${ADDED}} 0.051000000000000004\n`);
    expect(output).toContain(`${ttft}_count{${model},${ADDED}} 2\n`);
  });

  it('edge cases: comments, empty HELP, untyped, NaN/Inf, timestamps, labelled summaries, no final newline', () => {
    const input = read('edge-cases.input.txt');
    const output = relabel(input, LABELS);
    expectGolden('edge-cases.relabelled.txt', output);
    expect(sampleLines(output)).toHaveLength(sampleLines(input).length);
  });
});

describe('relabel', () => {
  it('passes NaN, +Inf and -Inf through verbatim', () => {
    expect(relabel('a NaN\nb +Inf\nc -Inf\n', { x: '1' })).toBe(
      '# TYPE a untyped\na{x="1"} NaN\n\n# TYPE b untyped\nb{x="1"} +Inf\n\n# TYPE c untyped\nc{x="1"} -Inf\n',
    );
  });

  it('keeps timestamps, negative ones and those on histogram lines included', () => {
    const text =
      '# TYPE h histogram\nh_bucket{le="+Inf"} 2 100\nh_sum 3 -5\nh_count 2 100\nu 1 1395066363000\n';
    expect(relabel(text, { x: '1' })).toBe(
      '# TYPE h histogram\nh_bucket{le="+Inf",x="1"} 2 100\nh_sum{x="1"} 3 -5\nh_count{x="1"} 2 100\n\n' +
        '# TYPE u untyped\nu{x="1"} 1 1395066363000\n',
    );
  });

  it('drops an empty HELP (the parser refuses it) and keeps the family', () => {
    for (const help of ['# HELP g \n', '# HELP g\n', '# HELP g    \t\n']) {
      expect(relabel(`${help}# TYPE g gauge\ng 3\n`, { x: '1' })).toBe('# TYPE g gauge\ng{x="1"} 3\n');
    }
  });

  it('declares metrics without metadata as untyped', () => {
    expect(relabel('plain 12.47\n', {})).toBe('# TYPE plain untyped\nplain 12.47\n');
    expect(relabel('# TYPE plain untyped\nplain 12.47\n', {})).toBe('# TYPE plain untyped\nplain 12.47\n');
  });

  it('reads CRLF line ends, indentation and a last line without newline', () => {
    expect(relabel('# TYPE a gauge\r\n  a{k="v"}   1  \r\nb 2', { x: '1' })).toBe(
      '# TYPE a gauge\na{k="v",x="1"} 1\n\n# TYPE b untyped\nb{x="1"} 2\n',
    );
  });

  it('replaces a label the workload already set and escapes every value', () => {
    expect(relabel('m{service_id="spoofed",path="C:\\\\x"} 1\n', { service_id: 'a"b\\c\nd' })).toBe(
      '# TYPE m untyped\nm{service_id="a\\"b\\\\c\\nd",path="C:\\\\x"} 1\n',
    );
  });

  it('escapes HELP text', () => {
    const output = relabel('# HELP m one\\\\two\\nthree\n# TYPE m gauge\nm 1\n', {});
    expect(output).toBe('# HELP m one\\\\two\\nthree\n# TYPE m gauge\nm 1\n');
    expect(parseExposition(output)[0]?.help).toBe('one\\two\nthree');
  });

  it('returns nothing for an empty exposition', () => {
    expect(relabel('', LABELS)).toBe('');
    expect(relabel('\n# just a comment\n', LABELS)).toBe('');
  });

  it.each([
    ['a malformed label', 'm{a=b} 1\n'],
    ['a sample without a value', 'm\n'],
    ['a TYPE without a type', '# TYPE m\nm 1\n'],
    ['an OpenMetrics-only type', '# TYPE m info\nm 1\n'],
    ['a timestamp that is not an integer', 'm 1 soon\n'],
    ['a value that is a word', 'Bad Gateway\n'],
    ['an HTML error page', '<html><body>502 Bad Gateway</body></html>\n'],
  ])('refuses %s with MetricsParseError', (_name, text) => {
    expect(() => relabel(text, LABELS)).toThrow(MetricsParseError);
  });

  it.each(['le', 'quantile', '__name__', '1a', 'a-b', ''])('refuses to add the label "%s"', (name) => {
    expect(() => relabel('m 1\n', { [name]: 'x' })).toThrow(InvalidLabelError);
  });
});

describe('mergeExpositions', () => {
  const replica = (port: number): { labels: Record<string, string>; text: string } => ({
    labels: { service_id: 'sg-3652098', replica_id: `3652098:${port}` },
    text: read('vllm-sim.input.txt').replaceAll('} 2\n', `} ${port}\n`),
  });

  it('declares each family once with the samples of every replica (golden)', () => {
    const merged = mergeExpositions([
      replica(8001),
      replica(8002),
      { labels: {}, text: statusGauge('sg-3652098', 'running') },
    ]);
    expectGolden('replica-group.merged.txt', merged);
    const types = merged.split('\n').filter((line) => line.startsWith('# TYPE '));
    expect(new Set(types).size).toBe(types.length);
    const lines = sampleLines(merged);
    const single = sampleLines(read('vllm-sim.input.txt')).length;
    expect(lines).toHaveLength(2 * single + 1);
    expect(lines.filter((line) => line.includes('replica_id="3652098:8001"'))).toHaveLength(single);
    expect(lines.filter((line) => line.includes('replica_id="3652098:8002"'))).toHaveLength(single);
  });

  it('leaves out a family whose type an earlier part declared differently', () => {
    const merged = mergeExpositions([
      { labels: { r: '1' }, text: '# TYPE m gauge\nm 1\n' },
      { labels: { r: '2' }, text: '# TYPE m counter\nm 2\n# TYPE n gauge\nn 3\n' },
    ]);
    expect(merged).toBe('# TYPE m gauge\nm{r="1"} 1\n\n# TYPE n gauge\nn{r="2"} 3\n');
  });

  it('takes the HELP from a later part when the first has none', () => {
    const merged = mergeExpositions([
      { labels: { r: '1' }, text: 'm 1\n' },
      { labels: { r: '2' }, text: '# HELP m Explained.\n# TYPE m untyped\nm 2\n' },
    ]);
    expect(merged).toBe('# HELP m Explained.\n# TYPE m untyped\nm{r="1"} 1\nm{r="2"} 2\n');
  });

  it('names the part whose text it could not parse', () => {
    let caught: unknown;
    try {
      mergeExpositions([
        { labels: { r: '1' }, text: 'm 1\n' },
        { labels: { r: '2' }, text: 'm{broken 1\n' },
      ]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MetricsParseError);
    expect((caught as MetricsParseError).labels).toEqual({ r: '2' });
  });
});
