/** Options or a dataset a person has to correct; nothing has been sent. */
export class BenchInputError extends Error {
  readonly code = 'BENCH_INVALID_INPUT';

  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? (problems[0] ?? '') : problems.map((problem) => `- ${problem}`).join('\n'));
    this.name = new.target.name;
  }
}
