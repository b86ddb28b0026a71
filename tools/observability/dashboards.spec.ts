import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { AppMetrics, QUEUE_STATES } from '@aiplane/metrics';
import { CONTROL_PLANE_APPS } from '@aiplane/contracts';
import { DASHBOARDS, loadDashboard, panelQueries, type DashboardName } from './dashboards';
import { promqlMetricNames } from './promql.names';

// A panel that names a metric nobody emits shows "No data" forever, in Grafana as here. The workload
// panels may name only what the pinned releases emit by default (so a panel green against the
// simulators is green against the real servers); the control-plane panels only what the apps register.
const ROOT = join(__dirname, '..', '..');
const familySchema = z.object({
  name: z.string(),
  type: z.enum(['gauge', 'counter', 'histogram']),
  default: z.boolean(),
});
const releaseSchema = z.object({ metrics: z.object({ families: z.array(familySchema) }) });

function releaseNames(file: string): Set<string> {
  const { metrics } = releaseSchema.parse(
    JSON.parse(readFileSync(join(ROOT, 'recipes', 'releases', file), 'utf8')),
  );
  return seriesNames(metrics.families.filter((family) => family.default));
}

/** The names a family puts on the wire: a histogram's `_bucket`, `_sum` and `_count`. */
function seriesNames(families: readonly { name: string; type: string }[]): Set<string> {
  const names = new Set<string>();
  for (const family of families) {
    names.add(family.name);
    if (family.type === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(family.name + suffix);
  }
  return names;
}

/** Everything any app registers: every instrument set on one registry, Node's process metrics included. */
async function controlPlaneNames(): Promise<Set<string>> {
  const metrics = new AppMetrics('gateway');
  metrics.http();
  metrics.queue('scheduler', () =>
    Promise.resolve(Object.fromEntries(QUEUE_STATES.map((state) => [state, 0]))),
  );
  metrics.scheduler();
  metrics.readiness();
  metrics.sshTunnel(() => ({ phase: 'connected', target: 'login:22', reconnects: 0 }));
  const families = await metrics.registry.getMetricsAsJSON();
  // Prometheus adds `up` to every scrape itself: which app answers is what the panel reads.
  return new Set([...seriesNames(families.map(({ name, type }) => ({ name, type: String(type) }))), 'up']);
}

const ALLOWED: Record<DashboardName, () => Promise<Set<string>> | Set<string>> = {
  'control-plane': controlPlaneNames,
  vllm: () => releaseNames('vllm-openai-v0.11.0.json'),
  qdrant: () => releaseNames('qdrant-v1.18.2.json'),
};

describe.each(DASHBOARDS)('the %s dashboard', (name) => {
  const dashboard = loadDashboard(name);

  it('is Grafana dashboard JSON with a Prometheus datasource variable every panel and query uses', () => {
    expect(dashboard.uid).toMatch(/^aiplane-/);
    const variables = dashboard.templating.list;
    expect(variables[0]).toMatchObject({ name: 'datasource', type: 'datasource', query: 'prometheus' });
    const text = JSON.stringify(dashboard.panels);
    const datasources = [...text.matchAll(/"datasource":\{"type":"([^"]+)","uid":"([^"]+)"\}/g)];
    expect(datasources.length).toBeGreaterThan(0);
    for (const [, type, uid] of datasources) expect([type, uid]).toEqual(['prometheus', '${datasource}']);
  });

  it('names only metrics that exist, in every query of every panel', async () => {
    const allowed = await ALLOWED[name]();
    const queries = panelQueries(name);
    expect(queries.length).toBeGreaterThan(0);
    const unknown = queries.flatMap(({ panel, expr }) =>
      promqlMetricNames(expr)
        .filter((metric) => !allowed.has(metric))
        .map((metric) => `${panel}: ${metric}`),
    );
    expect(unknown).toEqual([]);
    // And each query names at least one: a panel of constants shows nothing about anything.
    for (const { panel, expr } of queries)
      expect([panel, promqlMetricNames(expr).length > 0]).toEqual([panel, true]);
  });

  it("uses only variables it declares, besides Grafana's $__rate_interval", () => {
    const declared = new Set(dashboard.templating.list.map((variable) => variable.name));
    for (const { expr } of panelQueries(name)) {
      for (const [, braced, bare] of expr.matchAll(/\$\{(\w+)\}|\$(\w+)/g)) {
        const variable = braced ?? bare ?? '';
        if (variable !== '__rate_interval') expect(declared).toContain(variable);
      }
    }
  });
});

it('the control-plane dashboard covers every app', () => {
  // Its `app` variable lists what the metrics say; the apps' names are the route's.
  expect(CONTROL_PLANE_APPS).toHaveLength(5);
  const text = JSON.stringify(loadDashboard('control-plane'));
  for (const metric of [
    'aiplane_http_requests_total',
    'aiplane_data_plane_overhead_seconds_bucket',
    'aiplane_queue_jobs',
    'aiplane_scheduler_command_duration_seconds_bucket',
    'aiplane_ssh_tunnel_up',
    'aiplane_ssh_tunnel_reconnects_total',
    'aiplane_readiness_transitions_total',
  ]) {
    expect(text).toContain(metric);
  }
});
