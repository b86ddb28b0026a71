import { AppMetrics, CONTROL_PLANE_METRICS as M } from './control-plane.metrics';
import { parseExposition } from './exposition.parser';

async function families(metrics: AppMetrics) {
  return parseExposition(await metrics.text());
}

describe('AppMetrics', () => {
  it("labels every series with its app, Node's process metrics included", async () => {
    const metrics = new AppMetrics('orchestrator');
    metrics.http().observe('/api/services/:id', 'GET', 200, 0.012);
    const all = await families(metrics);
    expect(all.map((family) => family.name)).toEqual(
      expect.arrayContaining([M.httpRequests, M.httpDuration, 'process_cpu_seconds_total']),
    );
    for (const family of all)
      for (const sample of family.samples) expect(sample.labels.app).toBe('orchestrator');
  });

  it('counts and times requests by route template, method and status, and the overhead of the data plane only', async () => {
    const metrics = new AppMetrics('gateway');
    const http = metrics.http();
    http.observe('/api/v1/vllm/:id/prompt', 'POST', 200, 0.25, 0.4);
    http.observe('/api/v1/vllm/:id/prompt', 'POST', 200, 0.5, 0.6);
    http.observe('/api/v1/services', 'GET', 503, 0.001);
    const all = await families(metrics);
    const requests = all.find((family) => family.name === M.httpRequests)?.samples ?? [];
    expect(requests.map(({ labels, value }) => [labels.route, labels.method, labels.status, value])).toEqual([
      ['/api/v1/vllm/:id/prompt', 'POST', '200', '2'],
      ['/api/v1/services', 'GET', '503', '1'],
    ]);
    const overhead = all.find((family) => family.name === M.overhead)?.samples ?? [];
    const count = overhead.find((sample) => sample.name === `${M.overhead}_count`);
    expect([count?.labels.route, count?.value]).toEqual(['/api/v1/vllm/:id/prompt', '2']);
    const sum = overhead.find((sample) => sample.name === `${M.overhead}_sum`);
    expect(Number(sum?.value)).toBeCloseTo(0.001);
  });

  it('has a zero failure series for every scheduler command before any runs', async () => {
    const metrics = new AppMetrics('slurm-worker');
    const scheduler = metrics.scheduler();
    scheduler.observe('squeue', 0.02, false);
    scheduler.observe('sbatch', 0.5, true);
    const failures = (await families(metrics)).find((family) => family.name === M.schedulerFailures);
    expect(Object.fromEntries(failures?.samples.map((s) => [s.labels.command, s.value]) ?? [])).toEqual({
      sbatch: '1',
      squeue: '0',
      scancel: '0',
      scontrol: '0',
    });
  });

  it('reads queue depth and the SSH tunnel when collected', async () => {
    const metrics = new AppMetrics('slurm-worker');
    metrics.queue('scheduler', () => Promise.resolve({ waiting: 3, active: 1 }));
    let reading = { phase: 'connected' as const, target: 'login:22', reconnects: 0 };
    metrics.sshTunnel(() => reading);
    let all = await families(metrics);
    const depth = all.find((family) => family.name === M.queueJobs)?.samples ?? [];
    expect(depth.find((s) => s.labels.state === 'waiting')?.value).toBe('3');
    expect(depth.find((s) => s.labels.state === 'failed')?.value).toBe('0');
    expect(all.find((family) => family.name === M.sshUp)?.samples[0]?.value).toBe('1');
    reading = { ...reading, phase: 'backoff' as never, reconnects: 2 };
    all = await families(metrics);
    expect(all.find((family) => family.name === M.sshUp)?.samples[0]?.value).toBe('0');
    const phases = all.find((family) => family.name === M.sshState)?.samples ?? [];
    expect(phases.filter((s) => s.value === '1').map((s) => s.labels.state)).toEqual(['backoff']);
    expect(all.find((family) => family.name === M.sshReconnects)?.samples[0]?.value).toBe('2');
  });

  it('counts readiness transitions by the state changed to, both at zero from the start', async () => {
    const metrics = new AppMetrics('health-prober');
    metrics.readiness().changed(true);
    const transitions = (await families(metrics)).find((family) => family.name === M.readinessTransitions);
    expect(Object.fromEntries(transitions?.samples.map((s) => [s.labels.to, s.value]) ?? [])).toEqual({
      ready: '1',
      not_ready: '0',
    });
  });
});
