import type { ServiceRecord } from '@aiplane/contracts';
import pc from 'picocolors';
import { describeQueue, phaseHistory, progressLine, renderServiceList, waitVerdict } from './services.format';

const plain = pc.createColors(false);
const NOW = Date.parse('2026-12-04T12:00:00Z');

function record(overrides: Partial<ServiceRecord>): ServiceRecord {
  return {
    id: '1000',
    name: 'inference-vllm-single-node-1000',
    recipe_name: 'inference/vllm-single-node',
    status: 'running',
    config: {},
    created_at: '2026-12-04T11:58:00Z',
    updated_at: '2026-12-04T11:59:00Z',
    endpoint: 'http://node1:8001',
    job_id: '1000',
    type: 'service',
    warnings: [],
    timeline: { submitted_at: '2026-12-04T11:58:00Z', started_at: null, ready_at: null, ended_at: null },
    generations: [],
    rollover: { state: 'off', message: null, successor_job_id: null },
    ...overrides,
  };
}

describe('the progress of a wait', () => {
  it('says where a pending service stands in the queue and when it should start', () => {
    const queue = { position: 3, reason: 'Resources', estimated_start: '2026-12-04T12:04:05Z' };
    expect(describeQueue(queue, NOW)).toMatch(
      /^queue position 3 · Resources · est\. start \d\d:\d\d:\d\d \(in 4m 05s\)$/,
    );
    expect(describeQueue({ position: null, reason: null, estimated_start: null }, NOW)).toBeUndefined();
    expect(progressLine({ status: 'pending', queue, elapsedMs: 12_000, inPhaseMs: 12_000 }, NOW)).toMatch(
      /^pending · queue position 3 · Resources · est\. start .* · 12s in pending · 12s elapsed$/,
    );
  });

  it('says what configuring means, with the time in it and overall', () => {
    expect(progressLine({ status: 'configuring', elapsedMs: 75_000, inPhaseMs: 5_000 }, NOW)).toBe(
      'configuring · loading the workload · 5s in configuring · 1m 15s elapsed',
    );
    expect(progressLine({ status: 'pending', elapsedMs: 1000, inPhaseMs: 1000 }, NOW)).toBe(
      'pending · waiting for the scheduler · 1s in pending · 1s elapsed',
    );
  });

  it('sums up the phases it saw', () => {
    expect(
      phaseHistory([
        { status: 'pending', since: 0 },
        { status: 'configuring', since: 2_000 },
        { status: 'running', since: 7_500 },
      ]),
    ).toBe('pending 2s → configuring 5s → running');
  });

  it.each([
    ['running', 'running'],
    ['pending', 'waiting'],
    ['configuring', 'waiting'],
    ['idle', 'waiting'],
    ['partially_running', 'waiting'],
    ['failed', 'failed'],
    ['cancelled', 'failed'],
    ['out_of_memory', 'failed'],
    ['completed', 'failed'],
    ['degraded', 'failed'],
  ])('%s → %s', (status, verdict) => {
    expect(waitVerdict(status)).toBe(verdict);
  });
});

describe('the services table', () => {
  it('shows the endpoint of a running service and the queue of a pending one, in plain text when not coloured', () => {
    const table = renderServiceList(
      [
        record({}),
        record({
          id: '1001',
          status: 'pending',
          endpoint: null,
          queue: { position: 1, reason: 'Priority', estimated_start: null },
        }),
      ],
      NOW,
      plain,
    );
    expect(table).not.toContain('\u001b[');
    expect(table).toMatch(/ID .*RECIPE .*STATUS .*CREATED .*ENDPOINT \/ QUEUE/);
    expect(table).toMatch(/1000 .*inference\/vllm-single-node .*running .*2m 00s ago .*http:\/\/node1:8001/);
    expect(table).toMatch(/1001 .*pending .*queue position 1 · Priority/);
  });

  it('says how to create one when there is none', () => {
    expect(renderServiceList([], NOW, plain)).toMatch(/aiplane services create <recipe>/);
  });
});
