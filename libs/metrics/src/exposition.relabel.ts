import { parseExposition } from './exposition.parser';
import { formatExposition } from './exposition.writer';
import { InvalidLabelError, MetricsParseError } from './metrics.errors';
import type { ExpositionPart, Labels, MetricFamily } from './metrics.types';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
// `le` and `quantile` carry the histogram and summary structure; `__` names are Prometheus-internal.
const RESERVED = new Set(['le', 'quantile']);

export function assertLabelNames(labels: Labels): void {
  for (const name of Object.keys(labels)) {
    if (!LABEL_NAME.test(name) || name.startsWith('__') || RESERVED.has(name)) {
      throw new InvalidLabelError(`"${name.slice(0, 64)}" cannot be added as a label`);
    }
  }
}

/**
 * The workload's exposition with `labels` on every sample (a label of the same name is replaced).
 * Throws `MetricsParseError` when the text is not Prometheus text format.
 */
export function relabel(text: string, labels: Labels): string {
  return mergeExpositions([{ labels, text }]);
}

/**
 * Several expositions (the replicas of a group, a status gauge) as one: each part's samples carry its
 * labels, and each metric name gets exactly one HELP/TYPE block, because Prometheus refuses a family
 * declared twice. The parts' labels must tell their series apart (e.g. `replica_id`).
 *
 * A family whose TYPE differs from the one an earlier part declared is left out: one replica running
 * another workload version must not make the whole scrape fail.
 */
export function mergeExpositions(parts: readonly ExpositionPart[]): string {
  const merged = new Map<string, MetricFamily>();
  for (const part of parts) {
    assertLabelNames(part.labels);
    let families: MetricFamily[];
    try {
      families = parseExposition(part.text);
    } catch (error) {
      if (error instanceof MetricsParseError) throw new MetricsParseError(error.message, part.labels);
      throw error;
    }
    for (const family of families) {
      const samples = family.samples.map((sample) => ({
        ...sample,
        labels: { ...sample.labels, ...part.labels },
      }));
      const existing = merged.get(family.name);
      if (!existing) {
        merged.set(family.name, { ...family, samples });
      } else if (existing.type === family.type) {
        if (existing.help === '') existing.help = family.help;
        existing.samples.push(...samples);
      }
    }
  }
  return formatExposition([...merged.values()]);
}
