import { Writable } from 'node:stream';
import { parseBenchOptions, runBench, type BenchReport } from '@aiplane/loadgen';
import { waitForStatus, withStack } from '@aiplane/testing';
import { Command, CommanderError } from 'commander';
import { registerBenchCommand } from '../../apps/cli/src/bench/bench.command';

const TTFT_MS = 200;
const TOKEN_LATENCY_MS = 20;
const OUTPUT_TOKENS = 32;

// Tolerances of the figures against the simulator's pacing, on this shared 2-core machine:
// - the simulator never sends a token early, so its own values are floors;
// - TTFT also holds the request's way in through gateway → proxy → auth front and the first
//   chunk's way back (a few ms idle, tens when the machine is busy): 200 ms + at most 50 ms;
// - the simulator schedules token k at first + k × 20 ms, so a late chunk makes the next gap
//   short and the gaps average out at 20 ms: ITL p50 within ±5 ms (25 %);
// - E2E is TTFT plus 31 gaps: within 10 % of TTFT p50 + 31 × ITL p50, and of 200 + 31 × 20.
const TTFT_SLACK_MS = 50;
const ITL_SLACK_MS = 5;
const E2E_TOLERANCE = 0.1;

/** The figures the accuracy check reads, printed so the run's numbers can be quoted. */
function figures(report: BenchReport): Record<string, unknown> {
  const round = (value: number | undefined): number | undefined =>
    value === undefined ? undefined : Math.round(value * 10) / 10;
  return {
    requests: report.requests,
    ttft: { p50: round(report.ttftMs?.p50), p90: round(report.ttftMs?.p90), p99: round(report.ttftMs?.p99) },
    itl: { p50: round(report.itlMs?.p50), p90: round(report.itlMs?.p90), p99: round(report.itlMs?.p99) },
    e2e: { p50: round(report.e2eMs?.p50), p90: round(report.e2eMs?.p90), p99: round(report.e2eMs?.p99) },
    tokensPerSecond: round(report.throughput.outputTokensPerSecond),
    requestsPerSecond: round(report.throughput.requestsPerSecond),
    itlMethod: report.itlMethod,
    openLoop: report.openLoop && {
      offered: report.openLoop.offeredRate,
      scheduled: round(report.openLoop.scheduledRate),
      achieved: round(report.openLoop.achievedRate),
      sendLagP50: round(report.openLoop.sendLagMs?.p50),
      sendLagP99: round(report.openLoop.sendLagMs?.p99),
    },
  };
}

interface CommandRun {
  /** The exit code, as apps/cli's runProgram gives it: 2 for any error commander raised. */
  code: number;
  /** Commander's error code: its own parse errors, or the command's `aiplane.bench.usage`. */
  reason: string | undefined;
  out: string;
  err: string;
}

/** `aiplane bench ...` as the CLI registers it (errors as exceptions, exit codes from commander). */
async function bench(url: string, args: string[]): Promise<CommandRun> {
  const text = { out: '', err: '' };
  const sink = (key: 'out' | 'err'): Writable =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        text[key] += chunk.toString();
        done();
      },
    });
  const program = new Command('aiplane')
    .option('--json')
    .exitOverride()
    .configureOutput({
      writeOut: (line) => (text.out += line),
      writeErr: (line) => (text.err += line),
    });
  registerBenchCommand(program, {
    url: () => url,
    json: () => program.opts<{ json?: boolean }>().json === true,
    out: sink('out'),
    err: sink('err'),
    onInterrupt: () => () => undefined,
  });
  try {
    await program.parseAsync(['node', 'aiplane', ...args]);
    return { code: 0, reason: undefined, ...text };
  } catch (error) {
    if (error instanceof CommanderError) {
      return { code: error.exitCode === 0 ? 0 : 2, reason: error.code, ...text };
    }
    throw error;
  }
}

// The load generator's figures checked against what the simulator is configured to do, through
// every hop of the data plane (gateway → proxy → the job's front → vLLM simulator).
describe('aiplane bench against the simulator (local executor)', () => {
  const suite = withStack(() => ({ label: 'loadgen', scheduler: 'local', ports: { gateway: 0 } }));
  const { api } = suite;
  let id = '';

  beforeAll(async () => {
    const created = await api<{ id: string }>('POST', '/api/v1/services', {
      recipe_name: 'inference/vllm-single-node',
      config: {
        resources: { gpu: 0, cpu: 1, memory: '1G', time_limit: 10 },
        environment: {
          SIM_TTFT_MS: String(TTFT_MS),
          SIM_TOKEN_LATENCY_MS: String(TOKEN_LATENCY_MS),
          VLLM_PORT: '29351',
        },
      },
    });
    expect(created.status).toBe(200);
    id = created.body.id;
    await waitForStatus(api, id, ['running']);
  });

  it('reports the configured TTFT, ITL and E2E in a closed loop of 4 (40 requests of 32 tokens)', async () => {
    const report = await runBench(
      parseBenchOptions({
        url: suite.stack.gatewayUrl,
        serviceId: id,
        concurrency: 4,
        requests: 40,
        warmup: 4,
        promptTokens: 64,
        outputTokens: OUTPUT_TOKENS,
      }),
    );
    console.log(`closed loop: ${JSON.stringify(figures(report))}`);

    expect(report.requests).toEqual({ sent: 40, succeeded: 40, failed: 0, aborted: 0 });
    expect(report.errors.distinct).toEqual([]);
    expect(report.outputTokens).toMatchObject({ total: 40 * OUTPUT_TOKENS, notAsRequested: 0 });
    expect(report.outputTokens.perRequest).toMatchObject({ min: OUTPUT_TOKENS, max: OUTPUT_TOKENS });
    expect(report.itlMethod).toBe('per-chunk usage');
    expect(report.itlMs?.count).toBe(40 * (OUTPUT_TOKENS - 1));

    const ttft = report.ttftMs?.p50 ?? Number.NaN;
    const itl = report.itlMs?.p50 ?? Number.NaN;
    const e2e = report.e2eMs?.p50 ?? Number.NaN;
    expect(ttft).toBeGreaterThanOrEqual(TTFT_MS);
    expect(ttft).toBeLessThanOrEqual(TTFT_MS + TTFT_SLACK_MS);
    expect(Math.abs(itl - TOKEN_LATENCY_MS)).toBeLessThanOrEqual(ITL_SLACK_MS);
    const fromFigures = ttft + (OUTPUT_TOKENS - 1) * itl;
    const configured = TTFT_MS + (OUTPUT_TOKENS - 1) * TOKEN_LATENCY_MS;
    expect(Math.abs(e2e - fromFigures) / fromFigures).toBeLessThanOrEqual(E2E_TOLERANCE);
    expect(Math.abs(e2e - configured) / configured).toBeLessThanOrEqual(E2E_TOLERANCE);
    // Four streams of 31 tokens a ~0.82 s answer: about 4 × 32 / 0.82 ≈ 156 tokens/s.
    expect(report.throughput.outputTokensPerSecond).toBeGreaterThan(
      0.8 * ((4 * OUTPUT_TOKENS) / (configured / 1_000)),
    );
  });

  it('sends an open loop at the offered rate (5/s for 5 s) through the model route', async () => {
    const report = await runBench(
      parseBenchOptions({
        url: suite.stack.gatewayUrl,
        model: 'Qwen/Qwen2.5-0.5B-Instruct',
        rate: 5,
        duration: '5s',
        seed: 1,
        promptTokens: 16,
        outputTokens: 8,
      }),
    );
    console.log(`open loop: ${JSON.stringify(figures(report))}`);

    const open = report.openLoop;
    expect(report.endpoint).toBe(`${suite.stack.gatewayUrl}/v1/chat/completions`);
    expect(report.errors.count).toBe(0);
    expect(report.requests.succeeded).toBe(report.requests.sent);
    // 5 s at 5/s: about 25 arrivals. The seeded schedule's own rate is a Poisson sample of the
    // offered one (sd ≈ 20 % for 25 arrivals); the sends must keep to that schedule within 5 %.
    expect(report.requests.sent).toBeGreaterThanOrEqual(15);
    expect(report.requests.sent).toBeLessThanOrEqual(35);
    expect(Math.abs((open?.scheduledRate ?? 0) - 5) / 5).toBeLessThan(0.4);
    expect(
      Math.abs((open?.achievedRate ?? 0) - (open?.scheduledRate ?? 0)) / (open?.scheduledRate ?? 1),
    ).toBeLessThan(0.05);
    // The median, not the tail: one stall of this shared machine is the p99 of 25 sends.
    expect(open?.sendLagMs?.p50).toBeLessThan(20);
    expect(open?.maxInFlightHits).toBe(0);
  });

  it('runs as `aiplane bench`: a table for a person, the whole report with --json', async () => {
    const url = suite.stack.gatewayUrl;
    const human = await bench(url, ['bench', id, '-c', '2', '-n', '4', '--output-tokens', '4']);
    console.log(`aiplane bench ${id} -c 2 -n 4 --output-tokens 4\n${human.out}`);
    expect(human).toMatchObject({ code: 0, err: '' });
    expect(human.out).toMatch(/^LATENCY \(ms\) +MEAN +P50 +P90 +P99 +SAMPLES$/m);
    expect(human.out).toMatch(/^TTFT +\d+\.\d/m);
    expect(human.out).toMatch(/^ITL +\d+\.\d.* 12$/m);
    expect(human.out).toMatch(/^requests: +4 ok, 0 failed$/m);
    expect(human.out).toMatch(/^output tokens\/s: +\d+\.\d\d$/m);

    const machine = await bench(url, ['--json', 'bench', id, '-n', '2', '--output-tokens', '4']);
    expect(machine.code).toBe(0);
    const report = JSON.parse(machine.out) as Record<string, unknown>;
    expect(report).toMatchObject({
      requests: { sent: 2, succeeded: 2, failed: 0, aborted: 0 },
      load: { mode: 'closed', concurrency: 1 },
      openLoop: null,
      outputTokens: { total: 8 },
    });
  });

  it.each<[string[], string, RegExp]>([
    [['bench'], 'aiplane.bench.usage', /say what to load: a service id .* or --model/],
    [
      ['bench', '1000', '-c', '2', '-r', '3'],
      'aiplane.bench.usage',
      /--concurrency and --rate cannot be used together/,
    ],
    [
      ['bench', '1000', '-c', 'zero'],
      'commander.invalidArgument',
      /option '-c, --concurrency <n>' argument 'zero' is invalid\. "zero" is not a whole number/,
    ],
    [
      ['bench', '1000', '--duration', 'soon'],
      'aiplane.bench.usage',
      /--duration: "soon" is not a duration: use e\.g\. 30s/,
    ],
    [
      ['bench', '1000', '--dataset', '/nonexistent/prompts.jsonl'],
      'aiplane.bench.usage',
      /dataset \/nonexistent\/prompts\.jsonl: no such file/,
    ],
    [['bench', 'web-1'], 'aiplane.bench.usage', /the service id: is not a service id/],
    [
      ['bench', '1000', '--api', 'embeddings'],
      'commander.invalidArgument',
      /argument 'embeddings' is invalid\. Allowed choices are chat, completions/,
    ],
  ])(
    'refuses `aiplane %s` with exit code 2 (%s) and a message saying what to change',
    async (args, reason, message) => {
      const run = await bench(suite.stack.gatewayUrl, args);
      expect(run.code).toBe(2);
      expect(run.reason).toBe(reason);
      expect(run.err).toMatch(message);
      expect(run.out).toBe('');
    },
  );
});
