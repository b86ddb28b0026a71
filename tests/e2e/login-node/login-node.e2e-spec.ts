import { readFileSync, statSync } from 'node:fs';
import { apiClient, readInfra, waitForStatus, type Api } from '@aiplane/testing';
import { ATTACKS, type Target } from './attack.catalogue';
import {
  assertCheckoutReadable,
  ensureUser,
  removeUser,
  runAs,
  startUserStack,
  type UnixUser,
  type UserStack,
} from './unix-user.runner';

/**
 * A shared login node: researcher A runs the stack as an ordinary user, and co-tenant B, on the
 * same machine and with everything a local user has (127.0.0.1, world-readable files, squeue),
 * tries to reach it. Every attack in ATTACKS must be refused without leaking a secret, and A's
 * service must still serve afterwards. B then runs a stack of its own beside A's.
 *
 * A's gateway runs on this machine too, on a free 127.0.0.1 port, because the suite has one
 * machine; in production it is on the researcher's laptop, so it is no target here (it holds the
 * token and takes any caller, as the contract's local gateway does).
 */
describe('login node: the stack as an unprivileged user, attacked by another', () => {
  let a: UnixUser;
  let b: UnixUser;
  /** What afterAll removes: the users beforeAll got to create. */
  const users: UnixUser[] = [];
  let stackA: UserStack | undefined;
  let stackB: UserStack | undefined;
  let apiA: Api;
  let token: string;
  let serviceA: string;
  const run = `${String(process.pid)}-${Date.now().toString(36)}`;

  async function cancelAll(stack: UserStack | undefined): Promise<void> {
    if (stack === undefined) return;
    const api = apiClient(stack.gatewayUrl);
    const listed = await api<{ id: string; status: string }[]>('GET', '/api/v1/services').catch(
      () => undefined,
    );
    for (const service of Array.isArray(listed?.body) ? listed.body : []) {
      await api('POST', `/api/v1/services/${service.id}/status`, { status: 'cancelled' }).catch(
        () => undefined,
      );
    }
  }

  async function createAndWait(api: Api): Promise<string> {
    const created = await api<{ id: string }>('POST', '/api/v1/services', {
      recipe_name: 'inference/vllm-single-node',
      // One of the node's four GPUs each: A's and B's services run at once, beside other suites' jobs.
      config: { gpu: 1, cpu: 2, memory: '4G', time_limit: 30 },
    });
    expect(created.status).toBe(200);
    await waitForStatus(api, created.body.id, ['running']);
    return created.body.id;
  }

  async function prompt(api: Api, id: string): Promise<void> {
    const answer = await api<{ success: boolean; text: string }>('POST', `/api/v1/vllm/${id}/prompt`, {
      prompt: 'Say hello',
      max_tokens: 8,
    });
    expect(answer.status).toBe(200);
    expect(answer.body.success).toBe(true);
  }

  beforeAll(async () => {
    const infra = readInfra();
    a = ensureUser('aiplane-a');
    users.push(a);
    b = ensureUser('aiplane-b');
    users.push(b);
    assertCheckoutReadable(a);
    assertCheckoutReadable(b);
    stackA = await startUserStack(a, {
      redisPrefix: `e2e-login-a-${run}`,
      slurmPartition: infra.slurmPartition,
    });
    apiA = apiClient(stackA.gatewayUrl);
    token = (JSON.parse(readFileSync(stackA.connectionFile, 'utf8')) as { token: string }).token;
    serviceA = await createAndWait(apiA);
  });

  afterAll(async () => {
    try {
      await cancelAll(stackB);
      await cancelAll(stackA);
    } finally {
      await stackB?.stop();
      await stackA?.stop();
      for (const user of users) removeUser(user);
    }
  });

  it("keeps A's runtime dir, sockets and connection file A's alone", () => {
    const runtime = stackA!.runtimeDir;
    for (const [file, mode] of [
      [runtime, 0o700],
      [`${runtime}/orchestrator.sock`, 0o600],
      [`${runtime}/proxy.sock`, 0o600],
      [stackA!.connectionFile, 0o600],
    ] as const) {
      const stats = statSync(file);
      expect({ file, uid: stats.uid, mode: stats.mode & 0o777 }).toEqual({ file, uid: a.uid, mode });
    }
    expect(Buffer.byteLength(token)).toBeGreaterThanOrEqual(32);
  });

  it("serves A's on-cluster client on the orchestrator's TCP port with the token from connection.json", async () => {
    const answer = await apiClient(stackA!.orchestratorUrl)('GET', '/api/services', undefined, {
      authorization: `Bearer ${token}`,
    });
    expect(answer.status).toBe(200);
  });

  it.each(ATTACKS.map((attack) => [attack.name, attack] as const))('refuses B: %s', (_name, attack) => {
    const target: Target = {
      home: a.home,
      runtimeDir: stackA!.runtimeDir,
      stateDir: stackA!.stateDir,
      orchestratorUrl: stackA!.orchestratorUrl,
      serviceId: serviceA,
    };
    const result = runAs(b, attack.command(target));
    expect(result.output).toMatch(attack.refused);
    expect(result.output).not.toContain(token);
    // Neither a record (its job key) nor a workload's answer.
    expect(result.output).not.toMatch(/"api_key"\s*:|"text"\s*:|"success"\s*:\s*true/);
  });

  it("still serves A's service after every attack", async () => {
    const status = await apiA<{ status: string }>('GET', `/api/v1/services/${serviceA}/status`);
    expect(status.body.status).toBe('running');
    await prompt(apiA, serviceA);
  });

  it("runs B's own stack beside A's: each serves its own services and sees none of the other's", async () => {
    const infra = readInfra();
    stackB = await startUserStack(b, {
      redisPrefix: `e2e-login-b-${run}`,
      slurmPartition: infra.slurmPartition,
    });
    expect(stackB.gatewayUrl).not.toBe(stackA!.gatewayUrl);
    expect(stackB.runtimeDir.startsWith(b.home)).toBe(true);
    const apiB = apiClient(stackB.gatewayUrl);
    const serviceB = await createAndWait(apiB);
    await prompt(apiB, serviceB);
    await prompt(apiA, serviceA);
    const listedA = await apiA<{ id: string }[]>('GET', '/api/v1/services');
    const listedB = await apiB<{ id: string }[]>('GET', '/api/v1/services');
    expect(listedA.body.map((service) => service.id)).toEqual([serviceA]);
    expect(listedB.body.map((service) => service.id)).toEqual([serviceB]);
    // A's job runs as A, B's as B: SLURM itself keeps them apart.
    const owner = (id: string): string =>
      runAs(a, ['squeue', '--noheader', '--jobs', id, '--format=%u']).output.trim();
    expect(owner(serviceA)).toBe(a.name);
    expect(owner(serviceB)).toBe(b.name);
  });
});
