import fc from 'fast-check';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { parseExposition } from './exposition.parser';
import { mergeExpositions, relabel } from './exposition.relabel';
import type { Labels, MetricFamily, MetricType, Sample } from './metrics.types';

// Inputs are rendered here, not by the library's writer, so that a writer bug cannot hide a parser bug.
const escapeValue = (value: string): string =>
  value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
const escapeHelpText = (help: string): string => help.replaceAll('\\', '\\\\').replaceAll('\n', '\\n');

function render(families: readonly MetricFamily[]): string {
  let text = '';
  for (const family of families) {
    text += `# HELP ${family.name} ${escapeHelpText(family.help)}\n# TYPE ${family.name} ${family.type}\n`;
    for (const sample of family.samples) {
      const labels = Object.entries(sample.labels).map(([name, value]) => `${name}="${escapeValue(value)}"`);
      const timestamp = sample.timestamp === undefined ? '' : ` ${sample.timestamp}`;
      text += `${sample.name}{${labels.join(',')}} ${sample.value}${timestamp}\n`;
    }
  }
  return text;
}

// Characters that break naive exposition writers, mixed with any code point.
const hostile = fc.string({
  unit: fc.oneof(
    fc.constantFrom(
      '\\',
      '"',
      '\n',
      '\r',
      '\t',
      ' ',
      '{',
      '}',
      ',',
      '=',
      '#',
      'n',
      '\\n',
      '\\"',
      '\u2028',
      '\0',
    ),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  ),
  maxLength: 24,
});
const labelName = fc.oneof(
  fc.constantFrom('service_id', 'replica_id', 'model_name'),
  fc
    .stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,10}$/)
    .filter((name) => !name.startsWith('__') && name !== 'le' && name !== 'quantile' && name !== 'series'),
);
const labelSet = fc.uniqueArray(fc.tuple(labelName, hostile), { selector: ([name]) => name, maxLength: 4 });
const value = fc.oneof(
  fc.constantFrom('NaN', '+Inf', '-Inf', '0', '1.0', '1e-7', '-3.5E+10'),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.integer().map(String),
);
const timestamp = fc.option(fc.oneof(fc.integer().map(String), fc.constant('1395066363000')), {
  nil: undefined,
});
const familyType = fc.constantFrom<MetricType>('counter', 'gauge', 'untyped', 'histogram', 'summary');

interface Series {
  labels: [string, string][];
  values: string[];
  timestamp: string | undefined;
}
const series = fc.record({
  labels: labelSet,
  values: fc.array(value, { minLength: 5, maxLength: 5 }),
  timestamp,
});

function sample(name: string, labels: Record<string, string>, sampleValue: string, ts?: string): Sample {
  return ts === undefined
    ? { name, labels, value: sampleValue }
    : { name, labels, value: sampleValue, timestamp: ts };
}

/** The lines of one series; a `series` label keeps series apart even after relabelling. */
function samplesOf(name: string, type: MetricType, index: number, s: Series): Sample[] {
  const labels: Record<string, string> = { ...Object.fromEntries(s.labels), series: String(index) };
  const [v0 = '0', v1 = '0', v2 = '0', v3 = '0', v4 = '0'] = s.values;
  switch (type) {
    case 'histogram':
      return [
        sample(`${name}_bucket`, { ...labels, le: '0.1' }, v0, s.timestamp),
        sample(`${name}_bucket`, { ...labels, le: '+Inf' }, v1, s.timestamp),
        sample(`${name}_sum`, labels, v2, s.timestamp),
        sample(`${name}_count`, labels, v3, s.timestamp),
      ];
    case 'summary':
      return [
        sample(name, { ...labels, quantile: '0.5' }, v0, s.timestamp),
        sample(name, { ...labels, quantile: '0.99' }, v4, s.timestamp),
        sample(`${name}_sum`, labels, v2, s.timestamp),
        sample(`${name}_count`, labels, v3, s.timestamp),
      ];
    default:
      return [sample(name, labels, v0, s.timestamp)];
  }
}

// Names end in `_<index>`, so no family can be mistaken for another's `_bucket`, `_sum` or `_count`.
const families = fc
  .array(
    fc.record({
      prefix: fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,10}$/),
      help: hostile,
      type: familyType,
      series: fc.array(series, { minLength: 1, maxLength: 3 }),
    }),
    { maxLength: 5 },
  )
  .map((drafts) =>
    drafts.map((draft, index): MetricFamily => ({
      name: `${draft.prefix}_${index}`,
      help: draft.help,
      type: draft.type,
      samples: draft.series.flatMap((s, i) => samplesOf(`${draft.prefix}_${index}`, draft.type, i, s)),
    })),
  );
const added = fc.record({ service_id: hostile, replica_id: hostile });

/** What survives any reader that trims line ends: a HELP text's trailing blanks (not its newlines). */
const expectedHelp = (help: string): string => help.replace(/[^\S\n]+$/, '');

function withLabels(family: MetricFamily, labels: Labels): MetricFamily {
  return {
    ...family,
    help: expectedHelp(family.help),
    samples: family.samples.map((s) => ({ ...s, labels: { ...s.labels, ...labels } })),
  };
}

describe('relabel properties', () => {
  it('output parses back to the same families, every sample carrying the added labels', () => {
    fc.assert(
      fc.property(families, added, (input, labels) => {
        const output = relabel(render(input), labels);
        expect(parseExposition(output)).toEqual(input.map((family) => withLabels(family, labels)));
      }),
      { numRuns: 300 },
    );
  });

  it('the raw parser reads counters, gauges and untyped families of the output to the same samples', () => {
    fc.assert(
      fc.property(families, added, (input, labels) => {
        const parsed = parsePrometheusTextFormat(relabel(render(input), labels));
        for (const family of input) {
          if (family.type === 'histogram' || family.type === 'summary') continue;
          const found = parsed.find((candidate) => candidate.name === family.name);
          expect(found).toEqual({
            name: family.name,
            help: expectedHelp(family.help),
            type: family.type.toUpperCase(),
            metrics: family.samples.map((s) => ({
              value: s.value,
              labels: { ...s.labels, ...labels },
              ...(s.timestamp === undefined ? {} : { timestamp_ms: s.timestamp }),
            })),
          });
        }
      }),
      { numRuns: 200 },
    );
  });

  it('is idempotent: relabelling the output again with the same labels changes nothing', () => {
    fc.assert(
      fc.property(families, added, (input, labels) => {
        const once = relabel(render(input), labels);
        expect(relabel(once, labels)).toBe(once);
      }),
    );
  });

  it('merging replicas declares each family once, with every replica’s samples in order', () => {
    fc.assert(
      fc.property(families, fc.integer({ min: 1, max: 3 }), (input, replicas) => {
        const parts = Array.from({ length: replicas }, (_, i) => ({
          labels: { service_id: 'sg-7', replica_id: `7:${8001 + i}` },
          text: render(input),
        }));
        const merged = mergeExpositions(parts);
        const typeLines = merged.split('\n').filter((line) => line.startsWith('# TYPE '));
        expect(new Set(typeLines).size).toBe(typeLines.length);
        expect(parseExposition(merged)).toEqual(
          input.map((family) => ({
            ...family,
            help: expectedHelp(family.help),
            samples: parts.flatMap((part) => withLabels(family, part.labels).samples),
          })),
        );
      }),
      { numRuns: 100 },
    );
  });
});
