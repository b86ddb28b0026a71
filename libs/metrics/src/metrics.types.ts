export const METRIC_TYPES = ['counter', 'gauge', 'histogram', 'summary', 'untyped'] as const;
export type MetricType = (typeof METRIC_TYPES)[number];

export type Labels = Readonly<Record<string, string>>;

/** One line of the exposition. Numbers stay the strings they were written as, so nothing is rounded. */
export interface Sample {
  /** The line's own name: `<family>_bucket`, `_sum` and `_count` for histograms and summaries. */
  name: string;
  labels: Record<string, string>;
  value: string;
  /** Milliseconds since the epoch, as written. */
  timestamp?: string;
}

export interface MetricFamily {
  name: string;
  /** Unescaped; `''` when the family has no HELP line. */
  help: string;
  type: MetricType;
  samples: Sample[];
}

/** The exposition of one workload (one replica) and the labels that identify it. */
export interface ExpositionPart {
  labels: Labels;
  text: string;
}
