import type { ServiceRegistry, StoredService } from '@aiplane/registry';
import { createLogger } from '@aiplane/server-kit';
import { storedService } from '@aiplane/testing';
import { IdleService, type IdleEnqueue } from './idle.service';

const NOW = 1_000_000;

/** A registry holding `services` and the last uses given, recording what the sweep writes. */
function fakeRegistry(services: StoredService[], lastUse: Record<string, number>, wake: string[] = []) {
  const byId = new Map(services.map((service) => [service.id, service]));
  const recorded: string[] = [];
  const dropped: string[] = [];
  const registry = {
    activeIds: () => Promise.resolve(services.filter((s) => s.idle_since === undefined).map((s) => s.id)),
    getMany: (ids: string[]) => Promise.resolve(ids.flatMap((id) => byId.get(id) ?? [])),
    lastUses: (ids: string[]) => Promise.resolve(ids.map((id) => lastUse[id])),
    recordUse: (ids: string[]) => {
      recorded.push(...ids);
      return Promise.resolve();
    },
    wakeRequests: () => Promise.resolve(wake),
    dropWakeRequest: (id: string) => {
      dropped.push(id);
      return Promise.resolve();
    },
  } as unknown as ServiceRegistry;
  return { registry, recorded, dropped };
}

function sweepOf(registry: ServiceRegistry) {
  const enqueued: { name: string; jobId: string; payload: unknown }[] = [];
  const enqueue: IdleEnqueue = (name, jobId, payload) => {
    enqueued.push({ name, jobId, payload });
    return Promise.resolve();
  };
  const service = new IdleService(registry, createLogger('slurm-worker', 'silent'));
  return { sweep: () => service.sweep(enqueue, NOW), enqueued };
}

const running = (id: string, idleTimeout?: number, overrides: Partial<StoredService> = {}) =>
  storedService(id, {
    scheduler_state: 'RUNNING',
    ready: true,
    endpoint: 'http://node1:8001',
    config: idleTimeout === undefined ? {} : { idle_timeout: idleTimeout },
    ...overrides,
  });

describe('IdleService.sweep', () => {
  it('enqueues an idle stop, under the id of the service and its job, for a service unused for its timeout', async () => {
    const { registry } = fakeRegistry([running('7', 0.2, { job_id: '9' })], { '7': NOW - 12_000 });
    const { sweep, enqueued } = sweepOf(registry);
    await sweep();
    expect(enqueued).toEqual([
      { name: 'idle-stop', jobId: 'idle-stop-7-9', payload: { serviceId: '7', jobId: '9' } },
    ]);
  });

  it('leaves alone a service used recently, and one without an idle timeout however old its last use', async () => {
    const { registry } = fakeRegistry([running('7', 0.2), running('8')], { '7': NOW - 11_000, '8': 0 });
    const { sweep, enqueued } = sweepOf(registry);
    await sweep();
    expect(enqueued).toEqual([]);
  });

  it('does not count queued or starting time: the clock restarts until the service serves', async () => {
    const pending = storedService('7', { scheduler_state: 'PENDING', config: { idle_timeout: 0.2 } });
    const configuring = running('8', 0.2, { ready: false });
    const neverUsed = running('9', 0.2);
    const { registry, recorded } = fakeRegistry([pending, configuring, neverUsed], { '7': 0, '8': 0 });
    const { sweep, enqueued } = sweepOf(registry);
    await sweep();
    expect(enqueued).toEqual([]);
    expect(recorded.sort()).toEqual(['7', '8', '9']);
  });

  it("never stops a group's node job (groups have no idle stop)", async () => {
    const node = running('7', 0.2, { group_id: 'sg-7', node_index: 0 });
    const { registry } = fakeRegistry([node], { '7': 0 });
    const { sweep, enqueued } = sweepOf(registry);
    await sweep();
    expect(enqueued).toEqual([]);
  });

  it('enqueues one wake per stopped job for the idle services a request asked for, and forgets the others', async () => {
    const idle = running('7', 0.2, { job_id: '9', idle_since: new Date(NOW).toISOString() });
    const awake = running('8', 0.2);
    const { registry, dropped } = fakeRegistry([idle, awake], { '8': NOW }, ['7', '8', 'gone']);
    const { sweep, enqueued } = sweepOf(registry);
    await sweep();
    expect(enqueued).toEqual([{ name: 'wake', jobId: 'wake-7-9', payload: { serviceId: '7', jobId: '9' } }]);
    expect(dropped.sort()).toEqual(['8', 'gone']);
  });
});
