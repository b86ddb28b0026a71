/** The text is not Prometheus text exposition format (0.0.4). */
export class MetricsParseError extends Error {
  readonly code = 'INVALID_EXPOSITION';

  constructor(
    message: string,
    readonly labels: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A label a caller asked to add cannot be a Prometheus label (a caller bug, not bad workload output). */
export class InvalidLabelError extends Error {
  readonly code = 'INVALID_LABEL';

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
