import { spawnSync } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { apiClient, readInfra, ROOT, waitForStatus, type Api } from '@aiplane/testing';
import { ATTACKS, type Target } from './attack.catalogue';
import {
  assertCheckoutReadable,
  ensureUser,
  removeUser,
  runAs,
  secretsOf,
  startAs,
  startUserStack,
  type UnixUser,
  type UserStack,
} from './unix-user.runner';

/** B's flood: `count` connections that trickle a request head and never finish it. */
const FLOOD = `
const net = require('node:net');
const [host, port, count] = process.argv.slice(1);
const started = Date.now();
let opened = 0, cut = 0, failed = 0, lastCutMs = 0, done = false;
const finish = () => {
  if (done) return;
  done = true;
  console.log(JSON.stringify({ opened, cut, failed, lastCutMs }));
  process.exit(0);
};
for (let i = 0; i < Number(count); i++) {
  const socket = net.connect(Number(port), host);
  let trickle;
  socket.on('connect', () => {
    opened += 1;
    socket.write('GET /v1/models HTTP/1.1\\r\\nHost: x\\r\\n');
    trickle = setInterval(() => socket.write('X-Slow: 1\\r\\n'), 500);
  });
  socket.on('error', () => { failed += 1; });
  socket.on('close', () => {
    clearInterval(trickle);
    cut += 1;
    lastCutMs = Date.now() - started;
    if (cut === Number(count)) finish();
  });
}
setTimeout(finish, 15000);
`;

/**
 * B's squatter: on each `host:port` given, answers 200 to anything and prints every request's
 * head; prints `listening` once it holds them all.
 */
const SQUATTER = `
const http = require('node:http');
const addresses = process.argv.slice(1);
let listening = 0;
for (const address of addresses) {
  const at = address.lastIndexOf(':');
  http.createServer((req, res) => {
    console.log('request ' + JSON.stringify({ address, method: req.method, url: req.url, headers: req.headers }));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"object":"list","data":[{"id":"m"}]}');
  }).listen(Number(address.slice(at + 1)), address.slice(0, at), () => {
    if (++listening === addresses.length) console.log('listening');
  });
}
`;

/**
 * B's squatter on a port that is about to be freed: binds it as soon as it can, records every
 * request's head, answers a proof request with the proof the live front at `relay` gives for the
 * same nonce, and 200 to anything else.
 */
const RELAY_SQUATTER = `
const http = require('node:http');
const [port, relay] = process.argv.slice(1);
const server = http.createServer(async (req, res) => {
  console.log('request ' + JSON.stringify({ method: req.method, url: req.url, headers: req.headers }));
  let body = '{"object":"list","data":[{"id":"m"}]}';
  if (req.url.startsWith('/aiplane/proof')) body = await (await fetch(relay + req.url)).text();
  res.writeHead(200, { 'content-type': req.url.startsWith('/aiplane/proof') ? 'text/plain' : 'application/json' });
  res.end(body);
});
const bind = () => server.listen(Number(port), '0.0.0.0', () => console.log('listening'));
server.on('error', () => setTimeout(bind, 5));
bind();
`;

/** A's Qdrant collection, which B tries to read and delete. */
const COLLECTION = 'a_private_docs';

const node = (script: string, ...args: string[]): string[] => [process.execPath, '-e', script, ...args];
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface GroupStatus {
  overall_status: string;
  healthy_replicas: number;
  replica_statuses: { id: string; status: string; endpoint?: string | null; healthy: boolean }[];
}

/**
 * A shared login node: researcher A runs the stack as an ordinary user, with a Redis of its own,
 * and co-tenant B, on the same machine and with everything a local user has (127.0.0.1,
 * world-readable files, ps, squeue, scancel), tries every attack of issue 10 on it. Each attack
 * must be refused without leaking any of A's secrets, and A's service must still serve
 * afterwards. B then runs a stack of its own beside A's.
 *
 * A's gateway runs on this machine too, on a free 127.0.0.1 port, because the suite has one
 * machine; in production it is on the researcher's laptop, where a web page is what could reach
 * it (DNS rebinding), so only its Host check is attacked here.
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
  let qdrantA: string;
  /** A's replica group while it runs, and its replicas' ports. */
  let groupA: { id: string; ports: number[] } | undefined;
  let target: Target;
  /** Every secret of A's: the orchestrator token, the Redis password, the job keys, the apps' tokens. */
  let secrets: Set<string>;
  let redisPassword: string | undefined;
  const run = `${String(process.pid)}-${Date.now().toString(36)}`;
  /** B's dir that B points A's port-lock path at, hoping A's jobs put their lock there. */
  const plant = `/tmp/aiplane-plant-${run}`;
  const lockPath = (user: UnixUser): string => `/tmp/aiplane-${String(user.uid)}`;
  /** Other dirs B makes in /tmp, removed in afterAll. */
  const made: string[] = [plant];

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

  async function prompt(api: Api, id: string): Promise<number> {
    const started = Date.now();
    const answer = await api<{ success: boolean; text: string }>('POST', `/api/v1/vllm/${id}/prompt`, {
      prompt: 'Say hello',
      max_tokens: 8,
    });
    expect(answer.status).toBe(200);
    expect(answer.body.success).toBe(true);
    return Date.now() - started;
  }

  function expectNoSecret(output: string): void {
    for (const secret of secrets) {
      if (output.includes(secret)) throw new Error(`B's output holds one of A's secrets:\n${output}`);
    }
  }

  /** What B's plant holds: A's jobs must never have put anything (a lock) there. */
  const plantContents = (): string[] => readdirSync(plant);

  beforeAll(async () => {
    const infra = readInfra();
    a = ensureUser('aiplane-a');
    users.push(a);
    b = ensureUser('aiplane-b');
    users.push(b);
    // A port-lock dir that an earlier run's user of the same uid left would take the plant's place.
    for (const user of users) rmSync(lockPath(user), { recursive: true, force: true });
    assertCheckoutReadable(a);
    assertCheckoutReadable(b);
    // Before A's first job: B points A's port-lock path at a dir B owns and anyone may write.
    const planted = runAs(b, [
      'sh',
      '-c',
      `mkdir "${plant}" && chmod 777 "${plant}" && ln -s "${plant}" "${lockPath(a)}"`,
    ]);
    expect(planted).toMatchObject({ status: 0 });
    stackA = await startUserStack(a, {
      redisPrefix: `e2e-login-a-${run}`,
      slurmPartition: infra.slurmPartition,
    });
    apiA = apiClient(stackA.gatewayUrl);
    token = (JSON.parse(readFileSync(stackA.connectionFile, 'utf8')) as { token: string }).token;
    // A's Qdrant runs beside its vLLM (no GPU): B attacks its front too, and its collection must survive.
    const qdrant = await apiA<{ id: string }>('POST', '/api/v1/services', {
      recipe_name: 'vector-db/qdrant',
      config: { cpu: 1, memory: '2G', time_limit: 30 },
    });
    expect(qdrant.status).toBe(200);
    qdrantA = qdrant.body.id;
    serviceA = await createAndWait(apiA);
    await waitForStatus(apiA, qdrantA, ['running']);
    const collection = await apiA('PUT', `/api/v1/vector-db/${qdrantA}/collections/${COLLECTION}`, {
      vector_size: 4,
    });
    expect(collection.status).toBe(200);
    const record = await apiA<{ endpoint: string }>('GET', `/api/v1/services/${serviceA}`);
    const qdrantRecord = await apiA<{ endpoint: string }>('GET', `/api/v1/services/${qdrantA}`);
    target = {
      home: a.home,
      runtimeDir: stackA.runtimeDir,
      stateDir: stackA.stateDir,
      orchestratorUrl: stackA.orchestratorUrl,
      gatewayUrl: stackA.gatewayUrl,
      serviceId: serviceA,
      frontUrl: record.body.endpoint,
      qdrantFrontUrl: qdrantRecord.body.endpoint,
      collection: COLLECTION,
    };
    redisPassword = /^requirepass (\S+)$/m.exec(
      readFileSync(path.join(stackA.stateDir, 'redis', 'redis.conf'), 'utf8'),
    )?.[1];
    secrets = secretsOf(a);
    for (const secret of [token, redisPassword]) if (secret !== undefined) secrets.add(secret);
  });

  afterAll(async () => {
    try {
      await cancelAll(stackB);
      await cancelAll(stackA);
    } finally {
      await stackB?.stop();
      await stackA?.stop();
      for (const user of users) removeUser(user);
      for (const user of users) rmSync(lockPath(user), { recursive: true, force: true });
      for (const dir of made) rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps A's runtime dir, sockets, Redis files and connection file A's alone", () => {
    const runtime = stackA!.runtimeDir;
    const redis = path.join(stackA!.stateDir, 'redis');
    for (const [file, mode] of [
      [runtime, 0o700],
      [`${runtime}/orchestrator.sock`, 0o600],
      [`${runtime}/proxy.sock`, 0o600],
      [stackA!.connectionFile, 0o600],
      [stackA!.stateDir, 0o700],
      [redis, 0o700],
      [`${redis}/redis.conf`, 0o600],
    ] as const) {
      const stats = statSync(file);
      expect({ file, uid: stats.uid, mode: stats.mode & 0o777 }).toEqual({ file, uid: a.uid, mode });
    }
    expect(Buffer.byteLength(token)).toBeGreaterThanOrEqual(32);
    // The job's key, the apps' tokens and the Redis password were all found, so the leak checks bite.
    const environ = spawnSync('sh', [
      '-c',
      `cat /proc/$(pgrep -u ${String(a.uid)} -f 'auth_front.py --listen=[^ ]*:${new URL(target.frontUrl).port} ')/environ`,
    ]);
    const jobKey = /(?:^|\0)VLLM_API_KEY=([^\0]+)/.exec(environ.stdout.toString('latin1'))?.[1];
    expect(jobKey).toBeDefined();
    // The apps' tokens are the orchestrator's, and their REDIS_URL holds redis.conf's password.
    expect([...secrets]).toEqual(expect.arrayContaining([jobKey, token, redisPassword]));
  });

  it("serves A's on-cluster client on the orchestrator's TCP port with the token from connection.json", async () => {
    const answer = await apiClient(stackA!.orchestratorUrl)('GET', '/api/services', undefined, {
      authorization: `Bearer ${token}`,
    });
    expect(answer.status).toBe(200);
  });

  it.each(ATTACKS.map((attack) => [attack.name, attack] as const))('refuses B: %s', (_name, attack) => {
    const result = runAs(b, attack.command(target));
    expect(result.output).toMatch(attack.outcome);
    expectNoSecret(result.output);
    // Neither a record (its job key) nor a workload's answer.
    expect(result.output).not.toMatch(/"api_key"\s*:|"text"\s*:|"success"\s*:\s*true/);
  });

  it("never puts A's port lock in the dir B planted at /tmp/aiplane-<A's uid>", () => {
    const planted = lstatSync(lockPath(a));
    expect({ symlink: planted.isSymbolicLink(), uid: planted.uid }).toEqual({ symlink: true, uid: b.uid });
    expect(plantContents()).toEqual([]);
  });

  it("still serves A's service after every attack: running in SLURM, answering prompts", async () => {
    const status = await apiA<{ status: string }>('GET', `/api/v1/services/${serviceA}/status`);
    expect(status.body.status).toBe('running');
    const state = spawnSync('squeue', ['--noheader', '--jobs', serviceA, '--format=%T'], {
      encoding: 'utf8',
    });
    expect(state.stdout.trim()).toBe('RUNNING');
    await prompt(apiA, serviceA);
    const collections = await apiA<{ collections: string[] }>(
      'GET',
      `/api/v1/vector-db/${qdrantA}/collections`,
    );
    expect(collections.body.collections).toContain(COLLECTION);
  });

  it("keeps serving A while B floods A's workload front with 600 slow keyless connections", async () => {
    const front = new URL(target.frontUrl);
    const flood = startAs(b, node(FLOOD, front.hostname, front.port, '600'));
    await sleep(1_500);
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) latencies.push(await prompt(apiA, serviceA));
    const result = await flood.exited;
    const outcome = JSON.parse(result.output.trim().split('\n').pop() ?? '{}') as {
      opened: number;
      cut: number;
      lastCutMs: number;
    };
    // Every one of B's connections was cut, the last within the front's 3 s head timeout (+ start-up).
    expect(outcome.opened).toBeGreaterThan(500);
    expect(outcome.cut).toBe(600);
    expect(outcome.lastCutMs).toBeLessThan(6_000);
    expect(Math.max(...latencies)).toBeLessThan(500);
    expectNoSecret(result.output);
    console.log(`flood: ${JSON.stringify(outcome)}; A's prompts meanwhile took ${latencies.join(', ')} ms`);
  });

  it("keeps A's replica group off the port B squats and never shows B a key", async () => {
    // B swaps its symlink for a dir of its own that anyone may write: A's next job must skip it too.
    const swapped = runAs(b, [
      'sh',
      '-c',
      `rm "${lockPath(a)}" && mkdir "${lockPath(a)}" && chmod 777 "${lockPath(a)}"`,
    ]);
    expect(swapped).toMatchObject({ status: 0 });
    const basePort = 20_000 + Math.floor(Math.random() * 20_000);
    // Replica 1's port on every interface, and replica 2's on the node's address alone: the front
    // binds 0.0.0.0, so a listener on either would make it fail to bind.
    const nodeAddress =
      spawnSync('hostname', ['-I'], { encoding: 'utf8' }).stdout.trim().split(/\s+/)[0] || '127.0.0.1';
    const squatted = [basePort + 1, basePort + 2];
    const squatter = startAs(
      b,
      node(SQUATTER, `0.0.0.0:${String(squatted[0])}`, `${nodeAddress}:${String(squatted[1])}`),
    );
    try {
      for (let i = 0; i < 50 && !squatter.output().includes('listening'); i++) await sleep(100);
      expect(squatter.output()).toContain('listening');
      const created = await apiA<{ id: string; total_replicas: number }>('POST', '/api/v1/services', {
        recipe_name: 'inference/vllm-replicas',
        config: { gpu: 2, gpu_per_replica: 1, cpu: 2, memory: '4G', time_limit: 30, base_port: basePort },
      });
      expect(created.status).toBe(200);
      expect(created.body.total_replicas).toBe(2);
      const group = created.body.id;
      let status: GroupStatus | undefined;
      for (const deadline = Date.now() + 90_000; Date.now() < deadline;) {
        status = (await apiA<GroupStatus>('GET', `/api/v1/service-groups/${group}/status`)).body;
        if (['running', 'failed', 'degraded', 'cancelled', 'completed'].includes(status.overall_status))
          break;
        await sleep(500);
      }
      expect(status?.overall_status).toBe('running');
      const endpoints = status!.replica_statuses.map((replica) => replica.endpoint ?? '');
      expect(endpoints).toHaveLength(2);
      // Replica 0 on the base port, replica 1 on the first port B does not hold.
      expect(endpoints.map((endpoint) => Number(new URL(endpoint).port))).toEqual([basePort, basePort + 3]);
      await prompt(apiA, group);
      // The group's keys are secrets too; B's recorder must have seen none of them, nor any key at all.
      for (const secret of secretsOf(a)) secrets.add(secret);
      const recorded = (await squatter.stop()).output;
      expect(recorded).not.toMatch(/authorization/i);
      expectNoSecret(recorded);
      expect(plantContents()).toEqual([]);
      expect(readdirSync(lockPath(a))).toEqual([]);
      console.log(
        `squatting: B on ${squatted.join(', ')}; A's replicas on ${endpoints.join(', ')}; B saw ${String(recorded.split('\nrequest ').length - 1)} request(s)`,
      );
      groupA = { id: group, ports: endpoints.map((endpoint) => Number(new URL(endpoint).port)) };
    } finally {
      await squatter.stop();
    }
  });

  it("never shows B a key or a prompt when B takes the port of A's replica that died", async () => {
    expect(groupA).toBeDefined();
    const { id: group, ports } = groupA!;
    const [alive = 0, dying = 0] = ports;
    // B binds the port the moment it is free, and answers proof requests with the live replica's
    // proof for the same nonce (all B can get without a key): a relay the prober must not accept.
    const squatter = startAs(b, node(RELAY_SQUATTER, String(dying), `http://127.0.0.1:${String(alive)}`));
    try {
      const front = spawnSync(
        'pgrep',
        ['-u', String(a.uid), '-f', `auth_front.py --listen=0.0.0.0:${String(dying)}`],
        {
          encoding: 'utf8',
        },
      ).stdout.trim();
      expect(front).toMatch(/^\d+$/);
      // A crash of replica 1's front (the issue's "dead replica"), as root stands in for one.
      process.kill(Number(front), 'SIGKILL');
      for (let i = 0; i < 100 && !squatter.output().includes('listening'); i++) await sleep(20);
      expect(squatter.output()).toContain('listening');
      // A keeps prompting its group while B holds the port: every prompt is served (by replica 0).
      const servedBy: string[] = [];
      for (const deadline = Date.now() + 8_000; Date.now() < deadline;) {
        const answer = await apiA<{ success: boolean; routed_to?: string }>(
          'POST',
          `/api/v1/vllm/${group}/prompt`,
          {
            prompt: 'Say hello',
            max_tokens: 4,
          },
        );
        servedBy.push(`${String(answer.status)} ${answer.body.routed_to ?? ''}`);
        await sleep(200);
      }
      const status = (await apiA<GroupStatus>('GET', `/api/v1/service-groups/${group}/status`)).body;
      const recorded = (await squatter.stop()).output;
      console.log(
        `dead replica: B took ${String(dying)}; B saw ${String(recorded.split('\nrequest ').length - 1)} request(s); ` +
          `A's prompts: ${[...new Set(servedBy)].join(' | ')}; group ${status.overall_status}`,
      );
      for (const secret of secretsOf(a)) secrets.add(secret);
      expect(recorded).not.toMatch(/"authorization"/i);
      expect(recorded).not.toMatch(/Say hello/);
      expectNoSecret(recorded);
      // The squatter is never taken for replica 1: not healthy, not where its endpoint points.
      expect(status.healthy_replicas).toBe(1);
      for (const replica of status.replica_statuses) {
        if (replica.endpoint?.endsWith(`:${String(dying)}`)) expect(replica.healthy).toBe(false);
      }
    } finally {
      await squatter.stop();
      await apiA('POST', `/api/v1/services/${group}/status`, { status: 'cancelled' });
    }
  });

  it("refuses to start A's stack in a state dir or runtime dir B made first, and leaves nothing there", () => {
    const stateDir = `/tmp/aiplane-state-${run}`;
    const runtimeDir = `/tmp/aiplane-run-${run}`;
    made.push(stateDir, runtimeDir);
    const planted = runAs(b, [
      'sh',
      '-c',
      `mkdir -m 777 "${stateDir}" "${runtimeDir}" && chmod 777 "${stateDir}" "${runtimeDir}"`,
    ]);
    expect(planted).toMatchObject({ status: 0 });
    const script = path.join(ROOT, 'dist', 'tools', 'stack', 'start-stack.js');
    const env = { AIPLANE_ROOT: ROOT, GATEWAY_PORT: '0' };
    // A fresh dir of A's for the other one, so neither attempt touches A's running stack.
    const inState = runAs(
      a,
      [process.execPath, script],
      { ...env, AIPLANE_STATE_DIR: stateDir, AIPLANE_RUNTIME_DIR: `${a.home}/.aiplane/run-refused` },
      20_000,
    );
    expect(inState.status).toBe(1);
    expect(inState.output).toContain(
      `AIPLANE_STATE_DIR refused: ${stateDir} belongs to uid ${String(b.uid)}`,
    );
    const inRuntime = runAs(
      a,
      [process.execPath, script],
      { ...env, AIPLANE_STATE_DIR: `${a.home}/.aiplane/state-refused`, AIPLANE_RUNTIME_DIR: runtimeDir },
      20_000,
    );
    expect(inRuntime.status).toBe(1);
    expect(inRuntime.output).toContain(`${runtimeDir} belongs to uid ${String(b.uid)}`);
    expect(readdirSync(stateDir)).toEqual([]);
    expect(readdirSync(runtimeDir)).toEqual([]);
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
    const listedA = await apiA<{ id: string; status: string }[]>('GET', '/api/v1/services');
    const listedB = await apiB<{ id: string }[]>('GET', '/api/v1/services');
    expect(
      listedA.body
        .filter((service) => service.status === 'running')
        .map((service) => service.id)
        .sort(),
    ).toEqual([serviceA, qdrantA].sort());
    expect(listedB.body.map((service) => service.id)).toEqual([serviceB]);
    // A's job runs as A, B's as B: SLURM itself keeps them apart.
    const owner = (id: string): string =>
      runAs(a, ['squeue', '--noheader', '--jobs', id, '--format=%u']).output.trim();
    expect(owner(serviceA)).toBe(a.name);
    expect(owner(serviceB)).toBe(b.name);
  });
});
