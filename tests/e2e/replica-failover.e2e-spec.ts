import { listenerPid, waitUntil, withStack } from '@aiplane/testing';

interface GroupStatus {
  overall_status: string;
  healthy_replicas: number;
  failed_replicas: number;
  replica_statuses: { id: string; status: string; endpoint: string | null; healthy: boolean }[];
}

// The group's promise: round-robin over healthy replicas, and a replica that dies mid-traffic costs
// no client an error and receives nothing once it has failed.
describe('replica group failover (local executor, real processes)', () => {
  const { api } = withStack(() => ({
    label: 'failover',
    scheduler: 'local',
    ports: { gateway: 18501, orchestrator: 18500 },
  }));
  let groupId = '';

  it('serves 200 consecutive prompts without an error while one of four replicas is killed', async () => {
    const created = await api<{ id: string; job_id: string; total_replicas: number }>(
      'POST',
      '/api/v1/services',
      {
        recipe_name: 'inference/vllm-replicas',
      },
    );
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ id: expect.stringMatching(/^sg-\d+$/), total_replicas: 4 });
    groupId = created.body.id;
    const bareId = created.body.job_id;

    let status: GroupStatus | undefined;
    await waitUntil(
      () => status?.overall_status === 'running',
      60_000,
      async () => {
        status = (await api<GroupStatus>('GET', `/api/v1/service-groups/${bareId}/status`)).body;
      },
    );
    expect(status?.healthy_replicas).toBe(4);
    const replicaIds = status?.replica_statuses.map((replica) => replica.id) ?? [];
    expect(replicaIds).toHaveLength(4);

    const victim = replicaIds[1]!;
    const victimPort = Number(victim.split(':')[1]);
    const routed: string[] = [];
    let killedAt = -1;
    for (let i = 0; i < 200; i += 1) {
      if (i === 50) {
        process.kill(listenerPid(victimPort), 'SIGKILL');
        killedAt = i;
      }
      const response = await api<{
        success: boolean;
        routed_to: string;
        group_id: string;
        total_replicas: number;
      }>('POST', `/api/v1/vllm/${bareId}/prompt`, { prompt: `request ${i}`, max_tokens: 4 });
      expect({ i, status: response.status, body: response.body }).toMatchObject({
        status: 200,
        body: { success: true, group_id: groupId, total_replicas: 4 },
      });
      routed.push(response.body.routed_to);
    }

    // Round-robin before the failure: every replica served its share.
    const before = routed.slice(0, killedAt);
    for (const id of replicaIds) expect(before.filter((r) => r === id).length).toBeGreaterThanOrEqual(12);
    // After it: the dead replica never answered again, the other three shared the load.
    const after = routed.slice(killedAt);
    expect(after).not.toContain(victim);
    for (const id of replicaIds.filter((r) => r !== victim)) expect(after).toContain(id);

    const final = (await api<GroupStatus>('GET', `/api/v1/service-groups/${groupId}/status`)).body;
    expect(final).toMatchObject({ overall_status: 'degraded', healthy_replicas: 3, failed_replicas: 1 });
    expect(final.replica_statuses.find((replica) => replica.id === victim)).toMatchObject({
      status: 'failed',
      healthy: false,
    });
  });
});
