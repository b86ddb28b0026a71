// The package ships no types; this covers the one function it exports, as its README and source describe it.
declare module 'parse-prometheus-text-format' {
  namespace parsePrometheusTextFormat {
    /** One series as parsed; every number stays the string it was written as. */
    interface ParsedSample {
      value?: string;
      labels?: Record<string, string>;
      timestamp_ms?: string;
      /** Only in HISTOGRAM families, which the parser folds into one sample (losing their labels). */
      buckets?: Record<string, string>;
      /** Only in SUMMARY families, folded likewise. */
      quantiles?: Record<string, string>;
      count?: string;
      sum?: string;
    }

    interface ParsedFamily {
      name: string;
      /** `''` when the family has no HELP line. */
      help: string;
      /** The TYPE word upper-cased; `UNTYPED` when there is no TYPE line. */
      type: string;
      metrics: ParsedSample[];
    }
  }

  /** Throws an `InvalidLineError` on a HELP or TYPE line without text and on malformed label syntax. */
  function parsePrometheusTextFormat(text: string): parsePrometheusTextFormat.ParsedFamily[];

  export = parsePrometheusTextFormat;
}
