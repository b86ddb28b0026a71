import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { MetricsParseError } from './metrics.errors';
import { METRIC_TYPES, type MetricFamily, type MetricType, type Sample } from './metrics.types';

type CompositeType = 'histogram' | 'summary';

const SUFFIXES: Readonly<Record<CompositeType, readonly string[]>> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['_sum', '_count'],
};
// `s`: a HELP text may hold a carriage return or U+2028, which `.` would not match.
const META_LINE = /^# (HELP|TYPE) (.*)$/s;
const TIMESTAMP = /^-?[0-9]+$/;
// What Go's strconv.ParseFloat, which Prometheus uses, accepts; loose, but words (an HTML error page
// read as samples) fail, and they would make Prometheus refuse the whole scrape.
const SPECIAL_VALUE = /^[+-]?(?:inf(?:inity)?|nan)$/i;
const NUMERIC_VALUE =
  /^[+-]?(?:0x[0-9a-f_]*\.?[0-9a-f_]*(?:p[+-]?[0-9_]+)?|[0-9_]*\.?[0-9_]*(?:e[+-]?[0-9_]+)?)$/i;

function isValue(value: string): boolean {
  return SPECIAL_VALUE.test(value) || (NUMERIC_VALUE.test(value) && /[0-9]/.test(value));
}

/**
 * Prometheus text exposition (format 0.0.4) → families. parse-prometheus-text-format does the
 * tokenising (label and HELP escapes, family boundaries); what it gets wrong for a relabelling proxy
 * is worked around here rather than patched:
 * - it folds every histogram and summary into ONE sample keyed by `le`/`quantile`, dropping the other
 *   labels and, when there are any, `_sum`/`_count` (vLLM labels every histogram with `model_name`).
 *   Those families are therefore shown to it as untyped, which keeps each line intact, and their
 *   `_bucket`/`_sum`/`_count` families are regrouped under the declared name;
 * - it refuses a HELP line without text (`# HELP name`), which some exporters write: such lines are dropped;
 * - it reads a `#comment` (no space) as a sample: comments are dropped;
 * - it loses the last family unless the text ends with a newline: one is appended.
 * Consecutive samples with identical labels still collapse to the last one, but such text is
 * invalid (a duplicate series) and Prometheus would refuse it anyway.
 */
export function parseExposition(text: string): MetricFamily[] {
  const composite = new Map<string, CompositeType>();
  const prepared: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line.startsWith('#')) {
      prepared.push(line);
      continue;
    }
    const meta = META_LINE.exec(line);
    if (!meta) continue;
    const [, keyword, rest = ''] = meta;
    const space = rest.indexOf(' ');
    if (keyword === 'HELP') {
      if (space !== -1) prepared.push(line);
      continue;
    }
    const name = space === -1 ? rest : rest.slice(0, space);
    const declared = (space === -1 ? '' : rest.slice(space + 1)).toLowerCase();
    if (!isMetricType(declared)) {
      throw new MetricsParseError(
        declared === ''
          ? `the TYPE line of ${name.slice(0, 200)} names no type`
          : `metric ${name.slice(0, 200)} has an unsupported TYPE "${declared.slice(0, 40)}"`,
      );
    }
    if (declared === 'histogram' || declared === 'summary') {
      composite.set(name, declared);
      prepared.push(`# TYPE ${name} untyped`);
    } else {
      prepared.push(line);
    }
  }

  let parsed: ReturnType<typeof parsePrometheusTextFormat>;
  try {
    parsed = parsePrometheusTextFormat(`${prepared.join('\n')}\n`);
  } catch (error) {
    throw new MetricsParseError(error instanceof Error ? error.message : String(error));
  }

  // Keyed by family name: a family split across the text comes out as one block, as Prometheus requires.
  const families = new Map<string, MetricFamily>();
  for (const family of parsed) {
    const owner = ownerOf(family.name, composite);
    let target = families.get(owner);
    if (!target) {
      target = {
        name: owner,
        help: '',
        type: composite.get(owner) ?? toMetricType(family.type),
        samples: [],
      };
      families.set(owner, target);
    }
    if (target.help === '' && owner === family.name) target.help = family.help;
    for (const metric of family.metrics) target.samples.push(toSample(family.name, metric));
  }
  return [...families.values()];
}

function isMetricType(value: string): value is MetricType {
  return (METRIC_TYPES as readonly string[]).includes(value);
}

function toMetricType(parserType: string): MetricType {
  const type = parserType.toLowerCase();
  // Unreachable for text that passed the TYPE check above; kept as a guard against parser changes.
  if (!isMetricType(type)) throw new MetricsParseError(`unsupported metric type ${parserType}`);
  return type;
}

/** The family a sample line belongs to: `x_bucket` belongs to histogram `x`. */
function ownerOf(name: string, composite: ReadonlyMap<string, CompositeType>): string {
  for (const [type, suffixes] of Object.entries(SUFFIXES) as [CompositeType, readonly string[]][]) {
    for (const suffix of suffixes) {
      if (!name.endsWith(suffix)) continue;
      const base = name.slice(0, -suffix.length);
      if (composite.get(base) === type) return base;
    }
  }
  return name;
}

function toSample(name: string, metric: parsePrometheusTextFormat.ParsedSample): Sample {
  // Only a line with nothing after the name (or labels) has no value; Prometheus refuses it too.
  if (metric.value === undefined || metric.value === '') {
    throw new MetricsParseError(`sample ${name.slice(0, 200)} has no value`);
  }
  if (!isValue(metric.value)) {
    throw new MetricsParseError(`sample ${name.slice(0, 200)} has a value that is not a number`);
  }
  const sample: Sample = { name, labels: { ...metric.labels }, value: metric.value };
  if (metric.timestamp_ms !== undefined) {
    if (!TIMESTAMP.test(metric.timestamp_ms)) {
      throw new MetricsParseError(`sample ${name.slice(0, 200)} has an invalid timestamp`);
    }
    sample.timestamp = metric.timestamp_ms;
  }
  return sample;
}
