import type { ServiceRegistry } from '@aiplane/registry';
import { storedService } from '@aiplane/testing';
import { AppError, createLogger } from '@aiplane/server-kit';
import { UpstreamConnectError, UpstreamTimeoutError } from '../upstream/upstream.client';
import type { ResolvedWorkload } from './workload.resolver';
import { WorkloadCaller } from './workload.caller';

function replica(index: number): ResolvedWorkload {
  return {
    service: storedService('7', { group_id: 'sg-7' }),
    endpoint: `http://node1:${8000 + index}`,
    replicaId: `7:${8000 + index}`,
    replicaIndex: index,
    group: { id: 'sg-7', totalReplicas: 3 },
  };
}

const single: ResolvedWorkload = {
  service: storedService('9', { endpoint: 'http://node2:8000' }),
  endpoint: 'http://node2:8000',
  replicaId: '9:8000',
};

function setup() {
  const markedDown: string[] = [];
  const registry = {
    setReadiness: (id: string, ready: boolean) => {
      markedDown.push(`${id} ready=${String(ready)}`);
      return Promise.resolve();
    },
    setReplicaReadiness: (id: string, index: number, ready: boolean) => {
      markedDown.push(`${id}/r${index} ready=${String(ready)}`);
      return Promise.resolve();
    },
  } as unknown as ServiceRegistry;
  const caller = new WorkloadCaller(registry, createLogger('test', 'silent'));
  return { caller, markedDown };
}

const unreachable = (attempted: string[], reason: string): AppError =>
  new AppError(503, 'All replicas failed', `unreachable: ${reason}`, { attempted_replicas: attempted });

/** A call that refuses the connection on the listed replica ids and answers on the others. */
function refusing(...refused: string[]): (workload: ResolvedWorkload) => Promise<string> {
  return (workload) =>
    refused.includes(workload.replicaId)
      ? Promise.reject(new UpstreamConnectError(`${workload.endpoint}: connect ECONNREFUSED`))
      : Promise.resolve(`answer from ${workload.replicaId}`);
}

describe('WorkloadCaller', () => {
  it('answers from the first candidate and marks nothing down', async () => {
    const { caller, markedDown } = setup();
    await expect(caller.call([replica(0), replica(1)], refusing(), unreachable)).resolves.toBe(
      'answer from 7:8000',
    );
    expect(markedDown).toEqual([]);
  });

  it('marks a replica that refuses the connection down on the spot and fails over to the next', async () => {
    const { caller, markedDown } = setup();
    await expect(
      caller.call([replica(0), replica(1), replica(2)], refusing('7:8000', '7:8001'), unreachable),
    ).resolves.toBe('answer from 7:8002');
    expect(markedDown).toEqual(['7/r0 ready=false', '7/r1 ready=false']);
  });

  it('marks a single workload down through its own readiness', async () => {
    const { caller, markedDown } = setup();
    await expect(caller.call([single], refusing('9:8000'), unreachable)).rejects.toMatchObject({
      status: 503,
      details: { attempted_replicas: ['9:8000'] },
    });
    expect(markedDown).toEqual(['9 ready=false']);
  });

  it("answers with the caller's error, naming every replica tried, when none could be reached", async () => {
    const { caller } = setup();
    await expect(
      caller.call([replica(0), replica(1)], refusing('7:8000', '7:8001'), unreachable),
    ).rejects.toMatchObject({
      status: 503,
      message: 'unreachable: http://node1:8001: connect ECONNREFUSED',
      details: { attempted_replicas: ['7:8000', '7:8001'] },
    });
  });

  it('answers 504 without failing over when a workload accepted the request but did not answer', async () => {
    const { caller, markedDown } = setup();
    const call = jest.fn(() => Promise.reject(new UpstreamTimeoutError('node1:8000 did not answer')));
    await expect(caller.call([replica(0), replica(1)], call, unreachable)).rejects.toMatchObject({
      status: 504,
      message: 'node1:8000 did not answer',
    });
    expect(call).toHaveBeenCalledTimes(1);
    expect(markedDown).toEqual([]);
  });

  it("passes the workload's own errors on untouched, without failing over", async () => {
    const { caller, markedDown } = setup();
    const refusal = new AppError(400, 'Bad Request', 'no such model');
    const call = jest.fn(() => Promise.reject(refusal));
    await expect(caller.call([replica(0), replica(1)], call, unreachable)).rejects.toBe(refusal);
    expect(call).toHaveBeenCalledTimes(1);
    expect(markedDown).toEqual([]);
  });
});
