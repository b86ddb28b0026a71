import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { StackOptions } from '@aiplane/stack';
import { waitForStatus, withStack } from '@aiplane/testing';

/**
 * Issue 11 item 8: nothing outlives its job. Seen once while cancelling 200 jobs at once on SLURM
 * (proctrack/linuxproc, as here): a cancelled job's auth_front.py still held its port two minutes
 * later, reparented to init. Many services in every phase are cancelled at once, on real SLURM and on
 * the local executor; afterwards no process of any of their jobs is left and none of their ports is
 * held. Each job's processes are found by what is in their environment, not by parent links, which is
 * exactly what an orphan escapes.
 */

interface Created {
  id: string;
}

/** A process of one of this suite's jobs: it carries a job directory under the suite's state dir. */
interface JobProcess {
  pid: number;
  marked: boolean;
  command: string;
}

function jobProcesses(stateDir: string): JobProcess[] {
  const found: JobProcess[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let environ: string[];
    let command: string;
    try {
      environ = readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
      command = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      continue; // ended while we looked
    }
    if (!environ.some((entry) => entry.startsWith(`AIPLANE_JOB_DIR=${join(stateDir, 'jobs')}/`))) continue;
    found.push({
      pid: Number(name),
      marked: environ.some((entry) => entry.startsWith('AIPLANE_JOB_PID=')),
      command,
    });
  }
  return found;
}

/** TCP ports listened on by the given processes, from ss (which names each listener's pid). */
function listeningPorts(pids: ReadonlySet<number>): number[] {
  const out = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' });
  const ports = new Set<number>();
  for (const line of out.split('\n')) {
    const local = line.trim().split(/\s+/)[3];
    const port = Number(local?.slice(local.lastIndexOf(':') + 1));
    for (const match of line.matchAll(/pid=(\d+)/g)) if (pids.has(Number(match[1]))) ports.add(port);
  }
  return [...ports].sort((a, b) => a - b);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function describeReaping(scheduler: StackOptions['scheduler']): void {
  const onSlurm = scheduler === 'slurm';
  describe(`cancelling many services at once leaves nothing behind (${scheduler})`, () => {
    const suite = withStack(() => ({ label: `reap-${scheduler}`, scheduler, ports: { gateway: 0 } }));
    const { api } = suite;

    async function create(config: Record<string, unknown>): Promise<string> {
      const response = await api<Created>('POST', '/api/v1/services', {
        recipe_name: 'inference/vllm-single-node',
        config,
      });
      expect(response.status).toBe(200);
      return response.body.id;
    }
    const cpuOnly = { gpu: 0, cpu: 1, memory: '512M', time_limit: 10 };

    it('in every phase: pending, configuring, running and running with a request in flight', async () => {
      const ids: string[] = [];
      // Running: ready behind their fronts; two of them slow (100 ms a token), so that a long
      // completion is still in flight, the front draining it, when the job is cancelled.
      const running = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          create({
            resources: cpuOnly,
            environment: i < 2 ? { SIM_TOKEN_LATENCY_MS: '100' } : {},
          }),
        ),
      );
      ids.push(...running);
      await Promise.all(running.map((id) => waitForStatus(api, id, ['running'], 120_000)));
      // Configuring: the job runs and its front holds the port, but the simulator is still
      // "loading the model" (10 minutes), so the service never becomes ready.
      const configuring = await Promise.all(
        Array.from({ length: 4 }, () =>
          create({ resources: cpuOnly, environment: { SIM_STARTUP_DELAY_MS: '600000' } }),
        ),
      );
      ids.push(...configuring);
      await Promise.all(configuring.map((id) => waitForStatus(api, id, ['configuring'], 120_000)));
      // Pending (SLURM only; the local executor has no queue): one job takes the node's 4 GPUs, the
      // others wait behind it for one each.
      const pending = onSlurm
        ? await Promise.all(
            Array.from({ length: 6 }, (_, i) => create({ resources: { ...cpuOnly, gpu: i === 0 ? 4 : 1 } })),
          )
        : await Promise.all(Array.from({ length: 6 }, () => create({ resources: cpuOnly })));
      ids.push(...pending);
      if (onSlurm)
        await Promise.all(pending.slice(1).map((id) => waitForStatus(api, id, ['pending'], 60_000)));

      const inFlight = running
        .slice(0, 2)
        .map((id) =>
          api('POST', `/api/v1/vllm/${id}/prompt`, { prompt: 'Tell a long story', max_tokens: 300 }).catch(
            (error: unknown) => error,
          ),
        );
      await sleep(1_000);

      const phases = new Map<string, number>();
      for (const id of ids) {
        const { body } = await api<{ status: string }>('GET', `/api/v1/services/${id}/status`);
        phases.set(body.status, (phases.get(body.status) ?? 0) + 1);
      }
      const before = jobProcesses(suite.stateDir);
      const portsBefore = listeningPorts(new Set(before.map((p) => p.pid)));
      console.log(
        `reaping e2e (${scheduler}): ${ids.length} services by status ${JSON.stringify(Object.fromEntries(phases))}, ` +
          `${before.length} job processes (${before.filter((p) => p.marked).length} marked), ` +
          `${portsBefore.length} ports held, 2 completions in flight`,
      );
      expect(phases.get('running')).toBeGreaterThanOrEqual(6);
      expect(phases.get('configuring')).toBeGreaterThanOrEqual(4);
      if (onSlurm) expect(phases.get('pending')).toBeGreaterThanOrEqual(5);
      // Every process the scripts started carries the marker.
      expect(before.filter((p) => !p.marked)).toEqual([]);
      // At least the running ones' fronts (a starting job may not have bound its port yet).
      expect(portsBefore.length).toBeGreaterThanOrEqual(6);

      const began = Date.now();
      const cancels = await Promise.all(
        ids.map((id) => api('POST', `/api/v1/services/${id}/status`, { status: 'cancelled' })),
      );
      expect(cancels.map((c) => c.status)).toEqual(ids.map(() => 200));
      await Promise.all(inFlight);

      // Bounded: well within SLURM's KillWait (30 s) plus the script's grace (10 s).
      let left = jobProcesses(suite.stateDir);
      let ports = listeningPorts(new Set(left.map((p) => p.pid)));
      while ((left.length > 0 || ports.length > 0) && Date.now() - began < 40_000) {
        await sleep(250);
        left = jobProcesses(suite.stateDir);
        ports = listeningPorts(new Set(left.map((p) => p.pid)));
      }
      const tookMs = Date.now() - began;
      console.log(
        `reaping e2e (${scheduler}): after cancelling all ${ids.length} at once, ${left.length} job processes ` +
          `and ${ports.length} held ports left after ${tookMs} ms` +
          (left.length > 0 ? `: ${left.map((p) => `${p.pid} ${p.command}`).join('; ')}` : ''),
      );
      expect(left).toEqual([]);
      expect(ports).toEqual([]);
      for (const port of portsBefore) {
        // Free, or taken since by someone else's job: never by one of ours.
        expect(listeningPorts(new Set(jobProcesses(suite.stateDir).map((p) => p.pid)))).not.toContain(port);
      }
      await Promise.all(ids.map((id) => waitForStatus(api, id, ['cancelled'], 60_000)));
    }, 420_000);
  });
}

describeReaping('slurm');
describeReaping('local');
