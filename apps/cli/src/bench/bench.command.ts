import {
  BenchInputError,
  parseBenchOptions,
  runBench,
  type BenchOptionsInput,
  type BenchProgress,
  type BenchReport,
  type Summary,
} from '@aiplane/loadgen';
import Table from 'cli-table3';
import { Command, InvalidArgumentError, Option } from 'commander';
import { CliError, EXIT } from '../common/cli.errors';
import { COMPACT, trimLines } from '../common/output.format';

/** What the command needs of the CLI: the global flags and where to write. */
export interface BenchCommandContext {
  url(): string;
  json(): boolean;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  /** Takes the next Ctrl-C; see CliContext.onInterrupt. */
  onInterrupt(handler: () => void): () => void;
}

/** The library's option names as this command's flags, so its messages name what to retype. */
const FLAGS: Partial<Record<keyof BenchOptionsInput, string>> = {
  serviceId: 'the service id',
  url: '--url',
  requestTimeout: '--timeout',
};
const flagOf = (key: keyof BenchOptionsInput): string =>
  FLAGS[key] ?? `--${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;

function wholeNumber(min: number): (value: string) => number {
  return (value) => {
    const parsed = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min) {
      throw new InvalidArgumentError(`"${value}" is not a whole number of at least ${String(min)}`);
    }
    return parsed;
  };
}

function positiveNumber(value: string): number {
  const parsed = value.trim() === '' ? Number.NaN : Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) {
    throw new InvalidArgumentError(`"${value}" is not a number of requests per second above 0, e.g. 2.5`);
  }
  return parsed;
}

interface BenchFlags {
  model?: string;
  api: 'chat' | 'completions';
  concurrency?: number;
  rate?: number;
  maxInFlight?: number;
  promptTokens?: number;
  outputTokens?: number;
  dataset?: string;
  duration?: string;
  requests?: number;
  warmup?: number;
  seed?: number;
  timeout?: string;
  vllmExtensions: boolean;
}

const EXAMPLES = `
Examples:
  aiplane bench 1000 --concurrency 8 --requests 200 --output-tokens 256
  aiplane bench --model Qwen/Qwen2.5-0.5B-Instruct --rate 4 --duration 60s --warmup 5
  aiplane bench 1000 --dataset prompts.jsonl --requests 500 --json > report.json

A dataset has one JSON object a line: {"prompt": "..."} or {"messages": [{"role": "user", "content": "..."}]}.
Figures: TTFT = request start to the first content token; ITL = gap between content chunks, per token;
E2E = request start to [DONE]. See libs/loadgen/README.md.`;

/** `aiplane bench`: a streaming load test of a service (or a model) through the gateway's OpenAI routes. */
export function registerBenchCommand(program: Command, ctx: BenchCommandContext): void {
  program
    .command('bench')
    .description('load-test a vLLM service (or a model) through the gateway, streaming, and report latencies')
    .argument('[service-id]', "the service's id (its own OpenAI routes); or use --model")
    .option('--model <model>', 'the model field; without a service id the gateway routes by it')
    .addOption(
      new Option('--api <api>', 'which OpenAI route').choices(['chat', 'completions']).default('chat'),
    )
    .option(
      '-c, --concurrency <n>',
      'closed loop: n requests in flight, each sent when one ends (default 1)',
      wholeNumber(1),
    )
    .option(
      '-r, --rate <per-second>',
      'open loop: Poisson arrivals at this many requests per second',
      positiveNumber,
    )
    .option(
      '--max-in-flight <n>',
      'open loop: arrivals beyond n in flight wait, and are counted (default 1000)',
      wholeNumber(1),
    )
    .option('--prompt-tokens <n>', 'synthetic prompts of about n tokens (default 128)', wholeNumber(1))
    .option('--output-tokens <n>', 'max_tokens of every request (default 128)', wholeNumber(1))
    .option('--dataset <file.jsonl>', 'prompts from a JSONL file, used in turn')
    .option('--duration <time>', 'send for this long, e.g. 30s, 5m')
    .option('-n, --requests <n>', 'send this many requests (default 100)', wholeNumber(1))
    .option('--warmup <n>', 'send n requests first and leave them out of the figures', wholeNumber(0))
    .option('--seed <n>', 'seed of the arrival times and the synthetic prompts', wholeNumber(0))
    .option(
      '--timeout <time>',
      'a request without its whole answer after this long is an error (default 120s)',
    )
    .option('--no-vllm-extensions', 'send plain OpenAI fields only: no ignore_eos, no per-chunk usage')
    .addHelpText('after', EXAMPLES)
    .action(async (serviceId: string | undefined, flags: BenchFlags, command: Command) => {
      const usage = (message: string): never =>
        command.error(`aiplane bench: ${message}`, { exitCode: 2, code: 'aiplane.bench.usage' });
      let report: BenchReport;
      try {
        const options = parseBenchOptions(
          {
            url: ctx.url(),
            serviceId,
            model: flags.model,
            api: flags.api,
            concurrency: flags.concurrency,
            rate: flags.rate,
            maxInFlight: flags.maxInFlight,
            promptTokens: flags.promptTokens,
            outputTokens: flags.outputTokens,
            dataset: flags.dataset,
            duration: flags.duration,
            requests: flags.requests,
            warmup: flags.warmup,
            seed: flags.seed,
            requestTimeout: flags.timeout,
            vllmExtensions: flags.vllmExtensions,
          } satisfies BenchOptionsInput,
          flagOf,
        );
        const progress = progressLine(ctx.err);
        // Ctrl-C stops sending and aborts what is in flight; the figures so far are still a report.
        const stop = new AbortController();
        const release = ctx.onInterrupt(() => {
          progress.end();
          ctx.err.write(
            'aiplane bench: interrupted; reporting what was measured (Ctrl-C again to quit now)\n',
          );
          stop.abort();
        });
        try {
          report = await runBench(options, { onProgress: progress.update, signal: stop.signal });
        } finally {
          release();
        }
        progress.end();
      } catch (error) {
        if (error instanceof BenchInputError) return usage(error.message);
        throw error;
      }
      if (ctx.json()) ctx.out.write(`${jsonReport(report)}\n`);
      else ctx.out.write(`${renderBenchReport(report)}\n`);
      if (report.interrupted) {
        throw new CliError(
          `interrupted after ${String(report.requests.sent)} requests: the report covers those`,
          EXIT.interrupted,
        );
      }
      // Figures of nothing are no measurement: a script must not read them as one.
      if (report.requests.sent > 0 && report.requests.succeeded === 0) {
        throw new CliError(
          `every one of the ${String(report.requests.sent)} requests failed (see the errors above)`,
          EXIT.serverError,
        );
      }
    });
}

/** The whole report, missing figures as null so every key is always there. */
export function jsonReport(report: BenchReport): string {
  return JSON.stringify(report, (_key, value: unknown) => (value === undefined ? null : value), 2);
}

/** A live line on a terminal's stderr, redrawn at most every 250 ms; nothing when stderr is piped. */
function progressLine(err: NodeJS.WritableStream): { update: (p: BenchProgress) => void; end: () => void } {
  const tty = (err as { isTTY?: boolean }).isTTY === true;
  let last = 0;
  let shown = false;
  return {
    update: (p) => {
      if (!tty || performance.now() - last < 250) return;
      last = performance.now();
      shown = true;
      err.write(
        `\r${p.phase}: ${String(p.sent)} sent, ${String(p.succeeded)} ok, ${String(p.failed)} failed, ` +
          `${String(p.inFlight)} in flight, ${(p.elapsedMs / 1_000).toFixed(1)} s\u001b[K`,
      );
    },
    end: () => {
      if (shown) err.write('\r\u001b[K');
    },
  };
}

const ms = (value: number | undefined): string => (value === undefined ? '-' : value.toFixed(1));
const rate = (value: number): string => value.toFixed(2);

function latencyRow(name: string, summary: Summary | undefined): string[] {
  return [
    name,
    ms(summary?.mean),
    ms(summary?.p50),
    ms(summary?.p90),
    ms(summary?.p99),
    String(summary?.count ?? 0),
  ];
}

/** The report for a person: what was run, the latency table, throughput, and the errors. */
export function renderBenchReport(report: BenchReport): string {
  const load =
    report.load.mode === 'closed'
      ? `closed loop, concurrency ${String(report.load.concurrency)}`
      : `open loop, ${String(report.load.rate)} req/s (Poisson, seed ${String(report.load.seed)}, max ${String(report.load.maxInFlight)} in flight)`;
  const prompts =
    report.workload.dataset === undefined
      ? `~${String(report.workload.promptTokens ?? 0)}-token prompts`
      : `${report.workload.dataset.path} (${String(report.workload.dataset.entries)} prompts)`;
  const lines = [
    report.endpoint,
    `${load}; ${prompts}, ${String(report.workload.outputTokens)} output tokens; ` +
      `${String(report.requests.sent)} requests in ${(report.elapsedMs / 1_000).toFixed(1)} s` +
      (report.warmup.requests > 0 ? ` after ${String(report.warmup.requests)} warm-up` : '') +
      (report.interrupted ? ' (interrupted)' : ''),
    '',
  ];

  const latencies = new Table({
    ...COMPACT,
    head: ['LATENCY (ms)', 'MEAN', 'P50', 'P90', 'P99', 'SAMPLES'],
  });
  latencies.push(
    latencyRow('TTFT', report.ttftMs),
    latencyRow('ITL', report.itlMs),
    latencyRow('E2E', report.e2eMs),
  );
  lines.push(trimLines(latencies.toString()), '');

  const totals = new Table(COMPACT);
  const row = (label: string, value: string): void => {
    totals.push([`${label}:`, value]);
  };
  row(
    'requests',
    `${String(report.requests.succeeded)} ok, ${String(report.requests.failed)} failed` +
      (report.requests.aborted > 0 ? `, ${String(report.requests.aborted)} aborted` : ''),
  );
  row('requests/s', rate(report.throughput.requestsPerSecond));
  row('output tokens/s', rate(report.throughput.outputTokensPerSecond));
  row('output tokens', String(report.outputTokens.total));
  const open = report.openLoop;
  if (open !== undefined) {
    row(
      'arrival rate',
      `offered ${rate(open.offeredRate)}, scheduled ${rate(open.scheduledRate)}, achieved ${rate(open.achievedRate)} req/s`,
    );
    row('send lag p99', `${ms(open.sendLagMs?.p99)} ms`);
    row(
      'max in flight hit',
      open.maxInFlightHits === 0
        ? 'never'
        : `${String(open.maxInFlightHits)} arrivals waited (longest ${ms(open.maxInFlightWaitMs)} ms)`,
    );
  }
  lines.push(trimLines(totals.toString()));

  if (report.outputTokens.notAsRequested > 0) {
    lines.push(
      '',
      `note: ${String(report.outputTokens.notAsRequested)} answers were not ${String(report.workload.outputTokens)} tokens long ` +
        '(the server ended them early: it may not honour ignore_eos)',
    );
  }
  if (report.itlMethod === 'chunk gaps' || report.itlMethod === 'mixed') {
    lines.push(
      '',
      'note: no per-chunk token counts from the server: each chunk gap counts as one token of ITL',
    );
  }
  if (report.errors.count > 0) {
    lines.push('', `errors (${String(report.errors.count)}; the first distinct ones):`);
    for (const error of report.errors.distinct) lines.push(`  ${String(error.count)} x ${error.message}`);
  }
  return lines.join('\n');
}
