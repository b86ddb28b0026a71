import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { squeueActive, waitForStatus, waitUntil, withStack } from '@aiplane/testing';
import {
  concreteQuery,
  DASHBOARDS,
  panelQueries,
  prometheusConfig,
  type DashboardName,
} from '@aiplane/observability';
import { freePort, sleep } from './support/faults';

// The dashboards are proven real without Grafana: Debian's Prometheus scrapes the stack through the
// gateway with the project's HTTP service discovery, traffic runs (prompts, a stream, vector
// operations, failing requests), and every query of every panel of every dashboard must return
// series, run as Grafana would run it (variables and $__rate_interval filled in).
const PROMETHEUS = '/usr/bin/prometheus';
/** Wide enough to hold the traffic, with a scrape every second. */
const RATE_INTERVAL = '1m';
const SMALL = { cpu: 1, memory: '1G', time_limit: 10 };

interface PromVector {
  status: string;
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

/** squeue no longer lists the job (or no longer knows it at all). */
function leftSlurm(jobId: string): boolean {
  try {
    return squeueActive(jobId) === '';
  } catch {
    return true;
  }
}

describe('observability: every dashboard panel has data in a real Prometheus', () => {
  const suite = withStack(() => ({
    label: 'observability',
    scheduler: 'slurm',
    ssh: true,
    ports: { gateway: 0 },
    // Snapshots every second, so the worker's and the prober's series are as fresh as the scrape.
    env: { METRICS_PUBLISH_INTERVAL_MS: '1000' },
  }));
  const { api } = suite;
  let prometheus: ChildProcess | undefined;
  let prometheusLog = '';
  let promUrl = '';
  let dataDir = '';

  async function query(expr: string): Promise<PromVector> {
    const url = `${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`;
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    return (await response.json()) as PromVector;
  }

  async function seriesOf(expr: string): Promise<number> {
    const answer = await query(expr);
    if (answer.status !== 'success') throw new Error(`${expr}: ${answer.error ?? answer.status}`);
    return answer.data?.result.length ?? 0;
  }

  async function waitFor(expr: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await seriesOf(expr).catch(() => 0)) === 0) {
      if (Date.now() > deadline) {
        throw new Error(
          `Prometheus never answered ${expr}\n--- prometheus ---\n${prometheusLog.slice(-3000)}`,
        );
      }
      await sleep(500);
    }
  }

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      prometheus.kill('SIGTERM');
      await once(prometheus, 'exit');
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('scrapes the control plane and both workloads through the gateway, and answers every panel', async () => {
    const started = Date.now();
    if (!existsSync(PROMETHEUS)) {
      throw new Error(`${PROMETHEUS} is missing: apt-get install prometheus (tools/infra/up.sh installs it)`);
    }
    dataDir = mkdtempSync(join(tmpdir(), 'aiplane-prometheus-'));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${String(port)}`;
    const configFile = join(dataDir, 'prometheus.yml');
    writeFileSync(
      configFile,
      prometheusConfig({ gatewayUrl: suite.stack.gatewayUrl, scrapeInterval: '1s', refreshInterval: '1s' }),
    );
    prometheus = spawn(
      PROMETHEUS,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dataDir, 'data')}`,
        `--web.listen-address=127.0.0.1:${String(port)}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout?.on('data', (chunk: Buffer) => (prometheusLog += chunk.toString()));
    prometheus.stderr?.on('data', (chunk: Buffer) => (prometheusLog += chunk.toString()));

    // Discovery lists the control plane, labelled by app, beside the workloads.
    const targets = await api<{ targets: string[]; labels: Record<string, string> }[]>(
      'GET',
      '/api/v1/services/targets',
    );
    expect(targets.status).toBe(200);
    expect(targets.body.filter((t) => t.labels.kind === 'control-plane').map((t) => t.labels.app)).toEqual([
      'gateway',
      'orchestrator',
      'proxy',
      'slurm-worker',
      'health-prober',
    ]);

    await waitFor('count(up{kind="control-plane"} == 1) == 5', 30_000);
    // The workloads once the control plane is scraped: every counter then rises inside the window.
    const [vllmCreated, qdrantCreated] = await Promise.all([
      api<{ id: string }>('POST', '/api/v1/services', {
        recipe_name: 'inference/vllm-single-node',
        config: { ...SMALL, gpu: 1 },
      }),
      api<{ id: string }>('POST', '/api/v1/services', {
        recipe_name: 'vector-db/qdrant',
        config: { ...SMALL, gpu: 0 },
      }),
    ]);
    expect([vllmCreated.status, qdrantCreated.status]).toEqual([200, 200]);
    const vllmId = vllmCreated.body.id;
    const qdrantId = qdrantCreated.body.id;

    await Promise.all([
      waitForStatus(api, vllmId, ['running'], 90_000),
      waitForStatus(api, qdrantId, ['running'], 90_000),
    ]);

    // Scraped before the traffic, so that the traffic is an increase Prometheus sees.
    await waitFor(`up{service_id="${vllmId}"} == 1`, 30_000);
    await waitFor(`up{service_id="${qdrantId}"} == 1`, 30_000);

    // Traffic: prompts, an OpenAI stream, vector operations, and requests that fail; twice, a few
    // scrapes apart, since a series' first sample is no increase to a rate (a route, an endpoint
    // seen once would read 0 and its quantile NaN).
    const traffic = async (round: number): Promise<void> => {
      for (let i = 0; i < 3; i += 1) {
        const prompt = await api('POST', `/api/v1/vllm/${vllmId}/prompt`, {
          prompt: `Count to ${String(i + 3)}`,
          max_tokens: 24,
        });
        expect(prompt.status).toBe(200);
      }
      const stream = await fetch(`${suite.stack.gatewayUrl}/api/v1/vllm/${vllmId}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'Qwen/Qwen2.5-0.5B-Instruct',
          stream: true,
          max_tokens: 16,
          messages: [{ role: 'user', content: 'Hello' }],
        }),
      });
      expect(stream.status).toBe(200);
      expect(await stream.text()).toContain('data: [DONE]');
      const collection = `/api/v1/vector-db/${qdrantId}/collections/docs`;
      const created = await api('PUT', collection, { vector_size: 4, distance: 'Cosine' });
      expect(created.status).toBe(round === 1 ? 200 : 409);
      expect(
        (
          await api('PUT', `${collection}/points`, {
            points: [
              { id: 1, vector: [0.1, 0.2, 0.3, 0.4], payload: { text: 'one' } },
              { id: 'two', vector: [0.4, 0.3, 0.2, 0.1] },
            ],
          })
        ).status,
      ).toBe(200);
      const search = await api('POST', `${collection}/points/search`, {
        query_vector: [0.1, 0.2, 0.3, 0.4],
        limit: 2,
      });
      expect(search.status).toBe(200);
      expect((await api('GET', `/api/v1/vector-db/${qdrantId}/qdrant/collections`)).status).toBe(200);
      // Failing on purpose: an unknown service, and a collection that does not exist.
      expect((await api('POST', '/api/v1/vllm/99999999/prompt', { prompt: 'x' })).status).toBe(404);
      expect(
        (
          await api('POST', `/api/v1/vector-db/${qdrantId}/collections/missing/points/search`, {
            query_vector: [1, 0, 0, 0],
          })
        ).status,
      ).toBeGreaterThanOrEqual(400);
    };
    await traffic(1);
    await sleep(2_500);
    await traffic(2);

    // Scrapes are in once the last of the traffic is: the proxy's overhead and both workloads'
    // counters, and every control-plane app up.
    await waitFor('aiplane_data_plane_overhead_seconds_count{app="proxy"} > 0', 30_000);
    await waitFor(`vllm:generation_tokens_total{service_id="${vllmId}"} > 0`, 30_000);
    await waitFor(`rest_responses_total{service_id="${qdrantId}"} > 0`, 30_000);
    await waitFor('aiplane_scheduler_command_duration_seconds_count{command="sbatch"} > 0', 30_000);
    // Another scrape of everything, so each rate has the traffic's last increase in its window.
    await sleep(2_500);

    const values: Record<DashboardName, Record<string, string>> = {
      'control-plane': { app: '.*' },
      vllm: { service_id: vllmId },
      qdrant: { service_id: qdrantId },
    };
    const rows: { dashboard: string; panel: string; refId: string; series: number; nan: number }[] = [];
    for (const dashboard of DASHBOARDS) {
      for (const panel of panelQueries(dashboard)) {
        const expr = concreteQuery(panel.expr, values[dashboard], RATE_INTERVAL);
        const answer = await query(expr);
        expect([panel.panel, answer.status, answer.error]).toEqual([panel.panel, 'success', undefined]);
        const result = answer.data?.result ?? [];
        rows.push({
          dashboard,
          panel: panel.panel,
          refId: panel.refId,
          series: result.length,
          nan: result.filter((series) => Number.isNaN(Number(series.value[1]))).length,
        });
      }
    }
    const width = Math.max(...rows.map((row) => `${row.dashboard} / ${row.panel} [${row.refId}]`.length));
    console.log(
      [
        `panel → series (Prometheus ${PROMETHEUS}, scrape 1s, $__rate_interval=${RATE_INTERVAL}, ${String(Math.round((Date.now() - started) / 1000))} s)`,
        ...rows.map(
          (row) =>
            `${`${row.dashboard} / ${row.panel} [${row.refId}]`.padEnd(width)}  ${String(row.series).padStart(3)}${row.nan > 0 ? ` (${String(row.nan)} NaN)` : ''}`,
        ),
        `${String(rows.length)} queries in ${String(new Set(rows.map((row) => `${row.dashboard}/${row.panel}`)).size)} panels, ${String(rows.filter((row) => row.series > row.nan).length)} with data`,
      ].join('\n'),
    );
    // Series, and a number in at least one: a quantile over a window without observations is NaN.
    expect(
      rows
        .filter((row) => row.series === 0 || row.nan === row.series)
        .map((row) => `${row.dashboard} / ${row.panel} [${row.refId}]`),
    ).toEqual([]);

    // Stopped here, and gone from SLURM, before the fixture clears the job directories.
    for (const id of [vllmId, qdrantId]) {
      expect((await api('POST', `/api/v1/services/${id}/status`, { status: 'cancelled' })).status).toBe(200);
    }
    await waitUntil(() => [vllmId, qdrantId].every(leftSlurm), 30_000);
  }, 180_000);
});
