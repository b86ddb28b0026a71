import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import * as path from 'node:path';
import { DOCUMENT_CREATE_REQUESTS } from '@aiplane/contracts';
import {
  ROOT,
  scontrolShowJob,
  squeueActive,
  waitUntil,
  withStack,
  type ApiResponse,
} from '@aiplane/testing';

/*
 * The user's API document (seed/server-api.md) walked curl by curl, in its own order, through the
 * real path: gateway → SSH tunnel → orchestrator → BullMQ → slurm-worker → sbatch on real SLURM,
 * every answer checked against the v1 contract (CONTRACT.md), which wins where the two differ.
 * The document's literal ids stand for what earlier steps created: 3652098 for the replica groups
 * and services, 3642875 for the Qdrant service, 3642874 for a vLLM service.
 *
 * GPU plan. The node has 4 GPUs and every GPU service of the document asks for all of them, so
 * SLURM runs them one after another, in submission order:
 *   default vLLM  runs, checked, cancelled at once (step 1); its record serves steps 14-17;
 *   group 1       runs from step 2 until the document stops it (step 12); the legacy DELETE of
 *                 step 13 then meets a stopped group (twice is 200);
 *   group 2       queued behind it, runs from step 12 until its prompts (step 22) are checked,
 *                 then is stopped with the legacy DELETE while running;
 *   gpt2, custom resources, all options: queued behind group 2 until the document stops them
 *                 (steps 18, 19); what they asked for is checked in SLURM's job record.
 * The CPU-only service (gpt2) serves the single-service data-plane steps (21-23, 28), the Qdrant
 * service the vector DB ones. A job submitted behind a pending one is started only by SLURM's
 * backfill pass (every 30 s), so Qdrant is created before anything queues; the CPU-only service,
 * which the document creates while GPU jobs wait, is not needed before step 21.
 */

type Json = Record<string, unknown>;

const LABEL = 'document-walk';
const PORTS = { gateway: 18461, orchestrator: 18460 };
const POLL_MS = 150;
const START_TIMEOUT_MS = 45_000;
// SLURM's backfill pass runs every 30 s; the CPU-only service may wait for one.
const BACKFILL_TIMEOUT_MS = 75_000;

const ISO_WITH_ZONE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
const SERVICE_STATUSES = [
  'pending',
  'configuring',
  'running',
  'completed',
  'failed',
  'cancelled',
  'timeout',
  'node_fail',
  'preempted',
  'out_of_memory',
];
const GROUP_STATUSES = [
  'running',
  'partially_running',
  'degraded',
  'configuring',
  'pending',
  'failed',
  'cancelled',
  'completed',
];
// Nothing moves a record out of these (for a group, `failed` means no replica serves).
const TERMINAL = ['completed', 'failed', 'cancelled', 'timeout', 'node_fail', 'preempted', 'out_of_memory'];
const DEFAULT_MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';

// Key sets exactly as CONTRACT.md lists them.
const SERVICE_KEYS = [
  'id',
  'name',
  'recipe_name',
  'status',
  'config',
  'created_at',
  'updated_at',
  'endpoint',
  'job_id',
  'type',
  'warnings',
  'timeline',
  'generations',
  'rollover',
];
const GROUP_KEYS = [
  'id',
  'group_id',
  'job_id',
  'type',
  'name',
  'recipe_name',
  'status',
  'config',
  'created_at',
  'updated_at',
  'total_replicas',
  'gpu_per_replica',
  'base_port',
  'node_jobs',
  'warnings',
  'timeline',
  'generations',
  'rollover',
];
const NODE_JOB_KEYS = ['job_id', 'node_index', 'node', 'replicas', 'timeline'];
const REPLICA_KEYS = ['id', 'job_id', 'node_index', 'replica_index', 'port', 'gpu_ids', 'status', 'endpoint'];
const GROUP_SUMMARY_KEYS = [
  'id',
  'group_id',
  'recipe_name',
  'overall_status',
  'total_replicas',
  'healthy_replicas',
  'created_at',
];
const GROUP_STATUS_KEYS = [
  'group_id',
  'overall_status',
  'total_replicas',
  'healthy_replicas',
  'starting_replicas',
  'pending_replicas',
  'failed_replicas',
  'replica_statuses',
];
const REPLICA_STATUS_KEYS = ['id', 'status', 'endpoint', 'healthy'];
const CANCEL_KEYS = ['success', 'message', 'service_id', 'status'];
const GROUP_CANCEL_KEYS = ['success', 'message', 'group_id', 'status', 'replicas_updated'];
const PROMPT_KEYS = ['success', 'text', 'response', 'usage', 'service_id', 'endpoint_used', 'model'];
const GROUP_PROMPT_KEYS = [...PROMPT_KEYS, 'routed_to', 'group_id', 'total_replicas'];
const USAGE_KEYS = ['prompt_tokens', 'completion_tokens', 'total_tokens'];
const LISTED_SERVICE_KEYS = ['id', 'name', 'recipe_name', 'endpoint', 'status'];
const VLLM_MODELS_KEYS = ['success', 'models', 'data', 'service_id', 'endpoint'];
const SEARCH_MODEL_KEYS = [
  'id',
  'downloads',
  'likes',
  'architecture',
  'vllm_compatible',
  'created_at',
  'tags',
];
const MODEL_INFO_KEYS = [
  'id',
  'architecture',
  'vllm_compatible',
  'task_type',
  'downloads',
  'likes',
  'tags',
  'size_bytes',
  'size_gb',
  'pipeline_tag',
  'library_name',
];
const RECIPE_KEYS = ['name', 'category', 'path', 'description', 'version', 'resources', 'ports'];
const RECIPE_OPTIONAL_KEYS = ['gpu_per_replica', 'base_port'];
const COLLECTIONS_KEYS = ['success', 'collections', 'service_id'];
const SEARCH_KEYS = ['success', 'results', 'result', 'num_results'];
const HIT_KEYS = ['id', 'score', 'payload'];

// The document's request bodies: its create requests are the copy Swagger shows too, the rest verbatim.
const DOC = {
  defaultVllm: DOCUMENT_CREATE_REQUESTS.default_model.body,
  replicas: DOCUMENT_CREATE_REQUESTS.replica_group.body,
  customReplicas: DOCUMENT_CREATE_REQUESTS.custom_replicas.body,
  customModel: DOCUMENT_CREATE_REQUESTS.custom_model.body,
  customResources: DOCUMENT_CREATE_REQUESTS.custom_model_and_resources.body,
  allOptions: DOCUMENT_CREATE_REQUESTS.all_options.body,
  cpuOnly: DOCUMENT_CREATE_REQUESTS.cpu_only.body,
  cancel: { status: 'cancelled' },
  prompt: { prompt: 'Tell me a joke about programming', max_tokens: 100 },
  advancedPrompt: { prompt: 'Write a short haiku about AI', model: 'gpt2', max_tokens: 64, temperature: 0.7 },
  collection: { vector_size: 384, distance: 'Cosine' },
  points: {
    points: [
      { id: 1, vector: [0.1, 0.2, 0.3, 0.4], payload: { text: 'First document' } },
      { id: 2, vector: [0.4, 0.5, 0.6, 0.7], payload: { text: 'Second document' } },
    ],
  },
  search: { query_vector: [0.1, 0.2, 0.3, 0.4], limit: 5 },
} as const;

// ---------------------------------------------------------------------------------------------
// A stand-in Hugging Face Hub (there is no internet here) serving the orchestrator's fixtures.

const FIXTURES = path.join(ROOT, 'apps', 'orchestrator', 'src', 'models', '__fixtures__');
const fixtureText = (name: string): string => readFileSync(path.join(FIXTURES, name), 'utf8');

interface HubModelFixture {
  id: string;
  downloads: number;
  likes: number;
  tags: string[];
  createdAt: string;
  pipeline_tag?: string;
  library_name?: string;
  config?: { architectures?: string[] };
  siblings?: { rfilename: string; size?: number }[];
}

interface Hub {
  url: string;
  seen: string[];
  close(): void;
}

async function startHub(): Promise<Hub> {
  const seen: string[] = [];
  const answer = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    seen.push(url);
    const { pathname } = new URL(url, 'http://hub');
    const send = (status: number, body: string, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(body);
    };
    if (pathname === '/api/models') send(200, fixtureText('hub-search-qwen.json'));
    else if (pathname === '/api/models/Qwen/Qwen2.5-7B-Instruct')
      send(200, fixtureText('hub-model-qwen2.5-7b-instruct.json'));
    else if (pathname === '/api/models/gpt2' || pathname === '/api/models/openai-community/gpt2')
      send(200, fixtureText('hub-model-gpt2.json'));
    // What the real Hub answers for a repository it will not show.
    else
      send(401, fixtureText('hub-error-401-repo-not-found.json'), {
        'x-error-code': 'RepoNotFound',
      });
  };
  const server: Server = createServer(answer).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`,
    seen,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Small typed readers of JSON answers and contract checks.

function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function obj(value: unknown, what: string): Json {
  if (!isJson(value)) throw new Error(`${what} should be a JSON object, got ${JSON.stringify(value)}`);
  return value;
}

function arr(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${what} should be a JSON array, got ${JSON.stringify(value)}`);
  return value as unknown[];
}

function str(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new Error(`${what} should be a string, got ${JSON.stringify(value)}`);
  return value;
}

function num(value: unknown, what: string): number {
  if (typeof value !== 'number') throw new Error(`${what} should be a number, got ${JSON.stringify(value)}`);
  return value;
}

/** The key set, labelled so that a failing diff names the object it is about. */
function expectKeys(value: unknown, keys: readonly string[], what: string): Json {
  const object = obj(value, what);
  expect({ [what]: Object.keys(object).sort() }).toEqual({ [what]: [...keys].sort() });
  return object;
}

/**
 * `queue` (issue 11, CONTRACT.md "Queue, timeline, rollover, idle") is on a record exactly while it
 * is pending: the key set with it then, without it otherwise.
 */
function expectKeysAndQueue(value: unknown, keys: readonly string[], pending: boolean, what: string): Json {
  const object = expectKeys(value, pending ? [...keys, 'queue'] : keys, what);
  if (pending) {
    const queue = expectKeys(object.queue, ['position', 'reason', 'estimated_start'], `${what}.queue`);
    if (queue.position !== null) expect(num(queue.position, `${what}.queue.position`)).toBeGreaterThan(0);
    if (queue.reason !== null) str(queue.reason, `${what}.queue.reason`);
    if (queue.estimated_start !== null) expect(queue.estimated_start).toMatch(ISO_WITH_ZONE);
  }
  return object;
}

function isPending(value: unknown): boolean {
  return isJson(value) && value.status === 'pending';
}

/** Status first so that a wrong status shows its body in the diff. */
function expectStatus(response: ApiResponse, status: number, what: string): void {
  expect({ request: what, status: response.status, body: response.body }).toMatchObject({
    request: what,
    status,
  });
}

function expectServiceRecord(value: unknown, what: string): Json {
  const record = expectKeysAndQueue(value, SERVICE_KEYS, isPending(value), what);
  expect(record.id).toMatch(/^[0-9]+$/);
  expect(record.job_id).toBe(record.id);
  expect(record.type).toBe('service');
  expect(record.name).toBe(`${str(record.recipe_name, `${what}.recipe_name`)}-${str(record.id, 'id')}`);
  expect(SERVICE_STATUSES).toContain(record.status);
  expect(isJson(record.config)).toBe(true);
  expect(record.created_at).toMatch(ISO_WITH_ZONE);
  expect(record.updated_at).toMatch(ISO_WITH_ZONE);
  if (record.endpoint !== null) expect(record.endpoint).toMatch(/^http:\/\/[^/:]+:[0-9]+$/);
  return record;
}

function replicasOf(group: Json, what: string): Json[] {
  return arr(group.node_jobs, `${what}.node_jobs`).flatMap((job, jobIndex) => {
    // A node job is pending while its replicas are.
    const replicas = isJson(job) && Array.isArray(job.replicas) ? job.replicas : [];
    const nodeJob = expectKeysAndQueue(
      job,
      NODE_JOB_KEYS,
      replicas.length > 0 && replicas.every(isPending),
      `${what}.node_jobs[${String(jobIndex)}]`,
    );
    expect(nodeJob.job_id).toMatch(/^[0-9]+$/);
    expect(typeof nodeJob.node_index).toBe('number');
    if (nodeJob.node !== null) expect(typeof nodeJob.node).toBe('string');
    return arr(nodeJob.replicas, `${what}.node_jobs[${String(jobIndex)}].replicas`).map((replica, index) => {
      const label = `${what}.node_jobs[${String(jobIndex)}].replicas[${String(index)}]`;
      const record = expectKeys(replica, REPLICA_KEYS, label);
      expect(record.job_id).toBe(nodeJob.job_id);
      expect(record.node_index).toBe(nodeJob.node_index);
      expect(record.replica_index).toBe(index);
      expect(SERVICE_STATUSES).toContain(record.status);
      expect(Array.isArray(record.gpu_ids)).toBe(true);
      if (record.port === null) expect(record.endpoint).toBeNull();
      else {
        expect(record.id).toBe(`${str(record.job_id, 'job_id')}:${String(num(record.port, 'port'))}`);
        if (record.endpoint !== null)
          expect(new URL(str(record.endpoint, `${label}.endpoint`)).port).toBe(
            String(num(record.port, `${label}.port`)),
          );
      }
      return record;
    });
  });
}

function expectGroupRecord(value: unknown, what: string): Json {
  const record = expectKeysAndQueue(value, GROUP_KEYS, isPending(value), what);
  expect(record.job_id).toMatch(/^[0-9]+$/);
  expect(record.id).toBe(`sg-${str(record.job_id, `${what}.job_id`)}`);
  expect(record.group_id).toBe(record.id);
  expect(record.type).toBe('replica_group');
  expect(record.name).toMatch(new RegExp(`^${str(record.recipe_name, 'recipe_name')}-(sg-)?[0-9]+$`));
  expect(GROUP_STATUSES).toContain(record.status);
  expect(isJson(record.config)).toBe(true);
  expect(record.created_at).toMatch(ISO_WITH_ZONE);
  expect(record.updated_at).toMatch(ISO_WITH_ZONE);
  expect(replicasOf(record, what)).toHaveLength(num(record.total_replicas, `${what}.total_replicas`));
  return record;
}

function expectGroupSummary(value: unknown, what: string): Json {
  const summary = expectKeys(value, GROUP_SUMMARY_KEYS, what);
  expect(summary.id).toMatch(/^sg-[0-9]+$/);
  expect(summary.group_id).toBe(summary.id);
  expect(GROUP_STATUSES).toContain(summary.overall_status);
  expect(typeof summary.total_replicas).toBe('number');
  expect(typeof summary.healthy_replicas).toBe('number');
  expect(summary.created_at).toMatch(ISO_WITH_ZONE);
  return summary;
}

function expectCancelled(response: ApiResponse, id: string, what: string): Json {
  expectStatus(response, 200, what);
  const body = expectKeys(response.body, CANCEL_KEYS, what);
  expect(body).toMatchObject({ success: true, service_id: id, status: 'cancelled' });
  expect(typeof body.message).toBe('string');
  return body;
}

function expectGroupCancelled(response: ApiResponse, sentId: string, replicas: number, what: string): Json {
  expectStatus(response, 200, what);
  const body = expectKeys(response.body, GROUP_CANCEL_KEYS, what);
  expect(body).toMatchObject({ success: true, status: 'cancelled', replicas_updated: replicas });
  // The document echoes the id as sent; the contract's group id is sg-<job>. Either names the group.
  expect([sentId, `sg-${sentId}`]).toContain(body.group_id);
  expect(typeof body.message).toBe('string');
  return body;
}

function expectDeprecated(response: ApiResponse, what: string): void {
  expect({ request: what, deprecation: response.headers.get('deprecation') }).toEqual({
    request: what,
    deprecation: expect.stringMatching(/\S/),
  });
}

function expectUsage(value: unknown, what: string): void {
  const usage = expectKeys(value, USAGE_KEYS, what);
  for (const key of USAGE_KEYS) expect(Number.isInteger(usage[key])).toBe(true);
  expect(usage.total_tokens).toBe(
    num(usage.prompt_tokens, 'prompt_tokens') + num(usage.completion_tokens, 'completion_tokens'),
  );
}

/** Every sample of a Prometheus exposition, with its labels. */
function samples(text: string): { name: string; labels: Record<string, string> }[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+\S+/.exec(line);
      if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
      const labels = Object.fromEntries(
        [...(match[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [
          m[1] ?? '',
          m[2] ?? '',
        ]),
      );
      return { name: match[1] ?? '', labels };
    });
}

function gresGpus(job: string): number {
  // SLURM 22.05 shows `TresPerNode=gres:gpu:4`; newer versions `gres/gpu=4`.
  const match = /gres[:/]gpu[:=]([0-9]+)/.exec(job);
  return match ? Number(match[1]) : 0;
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`needs ${what}, which an earlier step did not produce`);
  return value;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a workload could bind the port now (as the simulators do, on every address). */
async function portIsFree(port: number): Promise<boolean> {
  const server = createTcpServer();
  return new Promise((resolve) => {
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, '0.0.0.0', () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------

describe('the user document, curl by curl (real SLURM through the SSH tunnel)', () => {
  let hub: Hub | undefined;
  const started = Date.now();

  beforeAll(async () => {
    hub = await startHub();
  });

  const suite = withStack(() => ({
    label: LABEL,
    scheduler: 'slurm',
    ssh: true,
    ports: PORTS,
    pollIntervalMs: 250,
    probeIntervalMs: 300,
    env: { HF_HUB_URL: need(hub, 'the stand-in Hub').url },
  }));
  const { api } = suite;

  afterAll(() => {
    hub?.close();
    console.info(`document walk took ${String(Math.round((Date.now() - started) / 1000))} s`);
  });

  // What the walk created, standing in for the document's literal ids.
  const ids: Partial<
    Record<
      | 'qdrant'
      | 'defaultVllm'
      | 'group1'
      | 'group2'
      | 'customModel'
      | 'customResources'
      | 'allOptions'
      | 'cpuOnly',
      string
    >
  > = {};
  let supportedArchitectures: string[] = [];
  // The ports group 1's replicas bound, in replica order (8001-8004 unless something held one).
  let group1Ports: number[] | undefined;

  /** One document example: its title names the step and the request, so a failure says which broke. */
  function docStep(title: string, run: () => Promise<void>): void {
    it(title, async () => {
      try {
        await run();
      } catch (error) {
        // The jobs' scripts and logs are what explains a broken step.
        suite.keepStateDir = true;
        if (error instanceof Error) {
          const prefix = `Document step "${title}" broke:\n`;
          error.message = prefix + error.message;
          // V8 formats the stack lazily: it may already carry the new message.
          if (error.stack !== undefined && !error.stack.includes(prefix)) error.stack = prefix + error.stack;
          throw error;
        }
        throw new Error(`Document step "${title}" broke: ${String(error)}`);
      }
    });
  }

  /** Polls `/services/{id}/status` (a group's id or bare job id gives its overall status). */
  async function waitForStatus(id: string, wanted: string, timeoutMs = START_TIMEOUT_MS): Promise<string[]> {
    const seen: string[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const response = await api('GET', `/api/v1/services/${id}/status`);
      const status =
        response.status === 200 ? String(response.body.status) : `HTTP ${String(response.status)}`;
      if (seen.at(-1) !== status) seen.push(status);
      if (status === wanted) return seen;
      if (TERMINAL.includes(status) || Date.now() > deadline) {
        throw new Error(
          `service ${id} did not reach ${wanted} (waited up to ${String(timeoutMs)} ms); saw ${seen.join(' → ')}`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  async function create(body: unknown, what: string): Promise<Json> {
    const response = await api('POST', '/api/v1/services', body);
    expectStatus(response, 200, what);
    return response.body;
  }

  function expectScheduled(
    jobId: string,
    expected: { cpus?: number; memory?: string; time?: string; gpus: number },
  ): void {
    const job = scontrolShowJob(jobId);
    if (expected.cpus !== undefined) expect(job).toMatch(new RegExp(`NumCPUs=${String(expected.cpus)}\\b`));
    if (expected.memory !== undefined) expect(job).toMatch(new RegExp(`MinMemoryNode=${expected.memory}\\b`));
    if (expected.time !== undefined) expect(job).toMatch(new RegExp(`TimeLimit=${expected.time}\\b`));
    expect({ job: jobId, gpus: gresGpus(job) }).toEqual({ job: jobId, gpus: expected.gpus });
  }

  docStep(
    '0. (for the Vector DB section) POST /api/v1/services {"recipe_name":"vector-db/qdrant"}',
    async () => {
      // Created first: a CPU-only job submitted behind a queued GPU job waits for SLURM's backfill.
      const record = expectServiceRecord(
        await create({ recipe_name: 'vector-db/qdrant' }, 'create qdrant'),
        'qdrant record',
      );
      expect(record).toMatchObject({ recipe_name: 'vector-db/qdrant', status: 'pending', config: {} });
      ids.qdrant = str(record.id, 'qdrant id');
      expectScheduled(ids.qdrant, { cpus: 4, memory: '16G', gpus: 0 });
    },
  );

  docStep('1. Create vLLM Service with Default Model — POST /api/v1/services', async () => {
    const record = expectServiceRecord(await create(DOC.defaultVllm, 'create default vLLM'), 'record');
    expect(record).toMatchObject({
      recipe_name: 'inference/vllm-single-node',
      status: 'pending',
      config: {},
      endpoint: null,
    });
    const id = str(record.id, 'id');
    ids.defaultVllm = id;
    // "By default, this will use one slurm node with its 4 GPUs."
    expectScheduled(id, { gpus: 4 });
    const seen = await waitForStatus(id, 'running');
    expect(seen.every((status) => ['pending', 'configuring', 'running'].includes(status))).toBe(true);
    const detail = await api('GET', `/api/v1/services/${id}`);
    expectStatus(detail, 200, `GET /api/v1/services/${id}`);
    expect(expectServiceRecord(detail.body, 'running record')).toMatchObject({
      status: 'running',
      endpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:[0-9]+$/),
    });
    // Its GPUs are needed by the group of step 2; the record stays for steps 14-17.
    const cancel = await api('POST', `/api/v1/services/${id}/status`, DOC.cancel);
    expectCancelled(cancel, id, 'cancel the default vLLM service');
    // SLURM lists the job as COMPLETING while its processes (and their port) go away.
    await waitUntil(() => squeueActive(id) === '', 15_000);
  });

  docStep('2. Create Multi-Replica vLLM Service Group — POST /api/v1/services', async () => {
    const documented = [8001, 8002, 8003, 8004];
    const allFree = (await Promise.all(documented.map(portIsFree))).every(Boolean);
    const record = expectGroupRecord(await create(DOC.replicas, 'create replica group'), 'group record');
    expect(record).toMatchObject({
      recipe_name: 'inference/vllm-replicas',
      status: 'pending',
      config: {},
      total_replicas: 4,
      gpu_per_replica: 1,
      base_port: 8001,
    });
    const job = str(record.job_id, 'job_id');
    ids.group1 = job;
    expectScheduled(job, { gpus: 4 });
    await waitForStatus(job, 'running');
    const detail = await api('GET', `/api/v1/services/${job}`);
    expectStatus(detail, 200, `GET /api/v1/services/${job}`);
    const running = expectGroupRecord(detail.body, 'running group record');
    const replicas = replicasOf(running, 'running group record');
    // "Default: 4 GPUs with gpu_per_replica: 1 -> 4 replicas (ports 8001-8004)", when they are free
    // (this machine is shared); otherwise each replica binds the next free port after base + i.
    const ports = replicas.map((replica) => num(replica.port, 'port'));
    if (allFree) expect(ports).toEqual(documented);
    ports.forEach((port, index) => {
      expect(port).toBeGreaterThanOrEqual(8001 + index);
      if (index > 0) expect(port).toBeGreaterThan(ports[index - 1]!);
    });
    group1Ports = ports;
    expect(replicas.every((replica) => replica.status === 'running')).toBe(true);
    for (const replica of replicas) {
      expect(replica.endpoint).toBe(`http://127.0.0.1:${String(replica.port)}`);
      expect(arr(replica.gpu_ids, 'gpu_ids')).toHaveLength(1);
    }
    expect(new Set(replicas.map((replica) => JSON.stringify(replica.gpu_ids))).size).toBe(4);
  });

  docStep('3. Customizing replicas — POST /api/v1/services {gpu "4", gpu_per_replica 2}', async () => {
    const record = expectGroupRecord(
      await create(DOC.customReplicas, 'create custom replica group'),
      'group record',
    );
    // The contract: 4 GPUs ÷ 2 per replica on one node is 2 replicas (the text's "4" needs nodes: 2).
    expect(record).toMatchObject({
      recipe_name: 'inference/vllm-replicas',
      status: 'pending',
      config: DOC.customReplicas.config,
      total_replicas: 2,
      gpu_per_replica: 2,
      base_port: 8001,
    });
    expect(record.config).toEqual(DOC.customReplicas.config);
    ids.group2 = str(record.job_id, 'job_id');
    expectScheduled(ids.group2, { gpus: 4 });
  });

  docStep('4. Create vLLM Service with Custom Model — POST /api/v1/services (gpt2)', async () => {
    const record = expectServiceRecord(await create(DOC.customModel, 'create gpt2 service'), 'record');
    expect(record).toMatchObject({ recipe_name: 'inference/vllm-single-node', status: 'pending' });
    expect(record.config).toEqual(DOC.customModel.config);
    ids.customModel = str(record.id, 'id');
    expectScheduled(ids.customModel, { gpus: 4 });
  });

  docStep('5a. Query Available Models — GET /api/v1/vllm/available-models', async () => {
    const response = await api('GET', '/api/v1/vllm/available-models');
    expectStatus(response, 200, 'GET /api/v1/vllm/available-models');
    const body = obj(response.body, 'available models');
    expect(Object.keys(body)).toEqual(
      expect.arrayContaining(['supported_architectures', 'examples', 'resource_guidelines']),
    );
    const byTask = obj(body.supported_architectures, 'supported_architectures');
    supportedArchitectures = Object.values(byTask).flatMap((list) =>
      arr(list, 'architectures').map((name) => str(name, 'architecture')),
    );
    expect(supportedArchitectures).toEqual(expect.arrayContaining(['Qwen2ForCausalLM', 'GPT2LMHeadModel']));
    expect(Object.keys(obj(body.examples, 'examples')).length).toBeGreaterThan(0);
    expect(Object.keys(obj(body.resource_guidelines, 'resource_guidelines')).length).toBeGreaterThan(0);
  });

  docStep('5b. Query Available Models — GET /api/v1/vllm/search-models?query=qwen&limit=10', async () => {
    const before = need(hub, 'the stand-in Hub').seen.length;
    const response = await api('GET', '/api/v1/vllm/search-models?query=qwen&limit=10');
    expectStatus(response, 200, 'GET /api/v1/vllm/search-models?query=qwen&limit=10');
    const body = expectKeys(response.body, ['models', 'total'], 'search answer');
    // The orchestrator asked the Hub for what the user asked for.
    const asked = need(hub, 'the stand-in Hub').seen.slice(before);
    expect(asked).toHaveLength(1);
    const query = new URL(asked[0] ?? '', 'http://hub').searchParams;
    expect({ search: query.get('search'), limit: query.get('limit') }).toEqual({
      search: 'qwen',
      limit: '10',
    });
    const fixture = JSON.parse(fixtureText('hub-search-qwen.json')) as HubModelFixture[];
    const models = arr(body.models, 'models').map((model, index) =>
      expectKeys(model, SEARCH_MODEL_KEYS, `models[${String(index)}]`),
    );
    expect(body.total).toBe(models.length);
    expect(models.map((model) => model.id)).toEqual(fixture.map((model) => model.id));
    models.forEach((model, index) => {
      const source = fixture[index]!;
      const architecture = source.config?.architectures?.[0] ?? null;
      expect(model).toEqual({
        id: source.id,
        downloads: source.downloads,
        likes: source.likes,
        architecture,
        vllm_compatible: architecture !== null && supportedArchitectures.includes(architecture),
        created_at: source.createdAt,
        tags: source.tags,
      });
    });
    expect(models.some((model) => model.vllm_compatible === false)).toBe(true);
  });

  docStep('5c. Query Available Models — GET /api/v1/vllm/model-info/Qwen/Qwen2.5-7B-Instruct', async () => {
    const response = await api('GET', '/api/v1/vllm/model-info/Qwen/Qwen2.5-7B-Instruct');
    expectStatus(response, 200, 'GET /api/v1/vllm/model-info/Qwen/Qwen2.5-7B-Instruct');
    const info = expectKeys(response.body, MODEL_INFO_KEYS, 'model info');
    const source = JSON.parse(fixtureText('hub-model-qwen2.5-7b-instruct.json')) as HubModelFixture;
    // The four safetensors shards are what vLLM downloads and loads.
    const weights = (source.siblings ?? [])
      .filter((file) => file.rfilename.endsWith('.safetensors'))
      .reduce((sum, file) => sum + (file.size ?? 0), 0);
    expect(info).toMatchObject({
      id: 'Qwen/Qwen2.5-7B-Instruct',
      architecture: 'Qwen2ForCausalLM',
      vllm_compatible: true,
      task_type: 'text-generation',
      downloads: source.downloads,
      likes: source.likes,
      tags: source.tags,
      size_bytes: weights,
      pipeline_tag: 'text-generation',
      library_name: 'transformers',
    });
    // GB or GiB, to two decimals: the contract does not say which.
    expect([Math.round((weights / 1e9) * 100) / 100, Math.round((weights / 2 ** 30) * 100) / 100]).toContain(
      info.size_gb,
    );
  });

  docStep('6. Create vLLM Service with Custom Model and Resources — POST /api/v1/services', async () => {
    const record = expectServiceRecord(await create(DOC.customResources, 'create'), 'record');
    expect(record).toMatchObject({ recipe_name: 'inference/vllm-single-node', status: 'pending' });
    expect(record.config).toEqual(DOC.customResources.config);
    ids.customResources = str(record.id, 'id');
    expectScheduled(ids.customResources, { cpus: 8, memory: '64G', time: '02:00:00', gpus: 4 });
  });

  docStep('7. Create vLLM Service with All Options — POST /api/v1/services', async () => {
    const record = expectServiceRecord(await create(DOC.allOptions, 'create'), 'record');
    expect(record).toMatchObject({ recipe_name: 'inference/vllm-single-node', status: 'pending' });
    expect(record.config).toEqual(DOC.allOptions.config);
    ids.allOptions = str(record.id, 'id');
    expectScheduled(ids.allOptions, { cpus: 2, memory: '32G', time: '00:15:00', gpus: 4 });
  });

  docStep('8. Create CPU-Only vLLM Service — POST /api/v1/services (gpu null)', async () => {
    const record = expectServiceRecord(await create(DOC.cpuOnly, 'create'), 'record');
    expect(record).toMatchObject({ recipe_name: 'inference/vllm-single-node', status: 'pending' });
    expect(record.config).toEqual(DOC.cpuOnly.config);
    ids.cpuOnly = str(record.id, 'id');
    expectScheduled(ids.cpuOnly, { cpus: 4, memory: '16G', gpus: 0 });
  });

  docStep('9. List Service Groups — GET /api/v1/service-groups', async () => {
    const group1 = need(ids.group1, 'group 1 (step 2)');
    const group2 = need(ids.group2, 'group 2 (step 3)');
    await waitForStatus(group1, 'running');
    const response = await api('GET', '/api/v1/service-groups');
    expectStatus(response, 200, 'GET /api/v1/service-groups');
    const summaries = arr(response.body, 'service groups').map((summary, index) =>
      expectGroupSummary(summary, `service-groups[${String(index)}]`),
    );
    expect(summaries.map((summary) => summary.id).sort()).toEqual([`sg-${group1}`, `sg-${group2}`].sort());
    expect(summaries.find((summary) => summary.id === `sg-${group1}`)).toMatchObject({
      recipe_name: 'inference/vllm-replicas',
      overall_status: 'running',
      total_replicas: 4,
      healthy_replicas: 4,
    });
    // Queued behind group 1 for the node's GPUs.
    expect(summaries.find((summary) => summary.id === `sg-${group2}`)).toMatchObject({
      recipe_name: 'inference/vllm-replicas',
      overall_status: 'pending',
      total_replicas: 2,
      healthy_replicas: 0,
    });
  });

  docStep('10. Get Service Group Details — GET /api/v1/service-groups/3652098', async () => {
    const group1 = need(ids.group1, 'group 1 (step 2)');
    const response = await api('GET', `/api/v1/service-groups/${group1}`);
    expectStatus(response, 200, `GET /api/v1/service-groups/${group1}`);
    const record = expectGroupRecord(response.body, 'group record');
    expect(record).toMatchObject({
      id: `sg-${group1}`,
      job_id: group1,
      status: 'running',
      total_replicas: 4,
    });
    // "Response includes replica count, job IDs, ports, and health status."
    const replicas = replicasOf(record, 'group record');
    expect(replicas.map((replica) => [replica.id, replica.status])).toEqual(
      need(group1Ports, 'the ports of group 1 (step 2)').map((port) => [
        `${group1}:${String(port)}`,
        'running',
      ]),
    );
    const nodeJob = obj(arr(record.node_jobs, 'node_jobs')[0], 'node_jobs[0]');
    expect(nodeJob).toMatchObject({ job_id: group1, node_index: 0, node: expect.any(String) });
  });

  docStep('11. Get Service Group Status — GET /api/v1/service-groups/3652098/status', async () => {
    const group1 = need(ids.group1, 'group 1 (step 2)');
    const response = await api('GET', `/api/v1/service-groups/${group1}/status`);
    expectStatus(response, 200, `GET /api/v1/service-groups/${group1}/status`);
    const body = expectKeys(response.body, GROUP_STATUS_KEYS, 'group status');
    expect(body).toMatchObject({
      group_id: `sg-${group1}`,
      overall_status: 'running',
      total_replicas: 4,
      healthy_replicas: 4,
      starting_replicas: 0,
      pending_replicas: 0,
      failed_replicas: 0,
    });
    const statuses = arr(body.replica_statuses, 'replica_statuses').map((entry, index) =>
      expectKeys(entry, REPLICA_STATUS_KEYS, `replica_statuses[${String(index)}]`),
    );
    expect(statuses).toEqual(
      need(group1Ports, 'the ports of group 1 (step 2)').map((port) => ({
        id: `${group1}:${String(port)}`,
        status: 'running',
        endpoint: `http://127.0.0.1:${String(port)}`,
        healthy: true,
      })),
    );
  });

  docStep(
    '12. Stop Service Group — POST /api/v1/service-groups/3652098/status {"status":"cancelled"}',
    async () => {
      const group1 = need(ids.group1, 'group 1 (step 2)');
      const response = await api('POST', `/api/v1/service-groups/${group1}/status`, DOC.cancel);
      const body = expectGroupCancelled(response, group1, 4, `POST /api/v1/service-groups/${group1}/status`);
      // The document's own response.
      expect(body.message).toBe(`Service group ${group1} status updated to cancelled`);
      // "preserves metadata for analysis": the record stays, cancelled.
      const detail = await api('GET', `/api/v1/service-groups/${group1}`);
      expectStatus(detail, 200, `GET /api/v1/service-groups/${group1} after the stop`);
      const record = expectGroupRecord(detail.body, 'stopped group record');
      expect(record.status).toBe('cancelled');
      expect(replicasOf(record, 'stopped group record').map((replica) => replica.status)).toEqual(
        Array<string>(4).fill('cancelled'),
      );
    },
  );

  docStep('13. Stop Service Group (legacy) — DELETE /api/v1/service-groups/3652098', async () => {
    // The same group again: the legacy method answers like the recommended one, and twice is 200.
    // Step 22 ends with a DELETE of the running group 2.
    const group1 = need(ids.group1, 'group 1 (step 2)');
    const response = await api('DELETE', `/api/v1/service-groups/${group1}`);
    expectGroupCancelled(response, group1, 4, `DELETE /api/v1/service-groups/${group1}`);
    expectDeprecated(response, `DELETE /api/v1/service-groups/${group1}`);
  });

  docStep('14. List All Services — GET /api/v1/services', async () => {
    const response = await api('GET', '/api/v1/services');
    expectStatus(response, 200, 'GET /api/v1/services');
    const records = arr(response.body, 'services').map((record, index) => {
      const what = `services[${String(index)}]`;
      return obj(record, what).type === 'replica_group'
        ? expectGroupRecord(record, what)
        : expectServiceRecord(record, what);
    });
    const listed = new Map(records.map((record) => [record.id, record]));
    const singles = [ids.qdrant, ids.defaultVllm, ids.customModel, ids.customResources, ids.allOptions];
    for (const id of [...singles, ids.cpuOnly])
      expect(listed.has(need(id, 'every service of steps 0-8'))).toBe(true);
    for (const job of [ids.group1, ids.group2]) {
      expect(listed.get(`sg-${need(job, 'both groups')}`)?.type).toBe('replica_group');
      // A group is listed once, as a group, not also as its node job.
      expect(listed.has(job)).toBe(false);
    }
    expect(listed.get(ids.defaultVllm)?.status).toBe('cancelled');
    expect(listed.get(`sg-${need(ids.group1, 'group 1')}`)?.status).toBe('cancelled');
  });

  docStep('15. Get Service Details — GET /api/v1/services/3652098', async () => {
    const id = need(ids.defaultVllm, 'the default vLLM service (step 1)');
    const response = await api('GET', `/api/v1/services/${id}`);
    expectStatus(response, 200, `GET /api/v1/services/${id}`);
    expect(expectServiceRecord(response.body, 'service record')).toMatchObject({
      id,
      job_id: id,
      name: `inference/vllm-single-node-${id}`,
      recipe_name: 'inference/vllm-single-node',
      status: 'cancelled',
      config: {},
    });
    // A group's bare job id on a service endpoint acts on the group.
    const group1 = need(ids.group1, 'group 1 (step 2)');
    const group = await api('GET', `/api/v1/services/${group1}`);
    expectStatus(group, 200, `GET /api/v1/services/${group1}`);
    expect(expectGroupRecord(group.body, 'group record')).toMatchObject({
      id: `sg-${group1}`,
      status: 'cancelled',
    });
  });

  docStep('16. Check Service Status — GET /api/v1/services/3652098/status', async () => {
    const id = need(ids.defaultVllm, 'the default vLLM service (step 1)');
    const response = await api('GET', `/api/v1/services/${id}/status`);
    expectStatus(response, 200, `GET /api/v1/services/${id}/status`);
    expect(expectKeys(response.body, ['id', 'status'], 'status answer')).toEqual({ id, status: 'cancelled' });
    const group2 = need(ids.group2, 'group 2 (step 3)');
    const group = await api('GET', `/api/v1/services/${group2}/status`);
    expectStatus(group, 200, `GET /api/v1/services/${group2}/status`);
    const body = expectKeysAndQueue(
      group.body,
      ['id', 'status'],
      isPending(group.body),
      'group status answer',
    );
    expect(body.id).toBe(`sg-${group2}`);
    // Group 2 got the GPUs when group 1 stopped: queued, starting or already serving.
    expect(['pending', 'configuring', 'partially_running', 'running']).toContain(body.status);
  });

  docStep('17. Get Service Logs — GET /api/v1/services/3652098/logs', async () => {
    const id = need(ids.defaultVllm, 'the default vLLM service (step 1)');
    const response = await api('GET', `/api/v1/services/${id}/logs`);
    expectStatus(response, 200, `GET /api/v1/services/${id}/logs`);
    const logs = str(expectKeys(response.body, ['logs'], 'logs answer').logs, 'logs');
    const headers = logs.split('\n').filter((line) => /^=== .* ===$/.test(line));
    expect(headers).toEqual(['=== STDOUT ===', '=== STDERR ===']);
    // The simulator announced itself on stdout while it ran.
    const stdout = logs.slice(logs.indexOf('=== STDOUT ===') + 14, logs.indexOf('=== STDERR ==='));
    expect(stdout.trim().length).toBeGreaterThan(0);
    // A group's logs: one section per replica, by replica id.
    const group1 = need(ids.group1, 'group 1 (step 2)');
    const group = await api('GET', `/api/v1/services/${group1}/logs`);
    expectStatus(group, 200, `GET /api/v1/services/${group1}/logs`);
    const groupLogs = str(expectKeys(group.body, ['logs'], 'group logs answer').logs, 'logs');
    for (const port of need(group1Ports, 'the ports of group 1 (step 2)'))
      expect(groupLogs).toContain(`=== REPLICA ${group1}:${String(port)} ===`);
    // A one-node group has the contract's headings exactly; only several node jobs are told apart.
    expect(groupLogs).toMatch(/^=== STDOUT ===$/m);
    expect(groupLogs).toMatch(/^=== STDERR ===$/m);
  });

  docStep('18. Stop a Service — POST /api/v1/services/3652098/status {"status":"cancelled"}', async () => {
    // The queued gpt2 and all-options services: stopped before SLURM ever starts them.
    for (const id of [need(ids.customModel, 'step 4'), need(ids.allOptions, 'step 7')]) {
      const response = await api('POST', `/api/v1/services/${id}/status`, DOC.cancel);
      const body = expectCancelled(response, id, `POST /api/v1/services/${id}/status`);
      expect(body.message).toBe(`Service ${id} status updated to cancelled`);
      const status = await api('GET', `/api/v1/services/${id}/status`);
      expect(status.body).toEqual({ id, status: 'cancelled' });
    }
    const refused = await api('POST', `/api/v1/services/${need(ids.cpuOnly, 'step 8')}/status`, {
      status: 'running',
    });
    expectStatus(refused, 400, 'POST .../status {"status":"running"}');
    expect(str(refused.body.message, 'message')).toContain('cancelled');
  });

  docStep('19. Stop a Service (legacy) — DELETE /api/v1/services/3652098', async () => {
    const id = need(ids.customResources, 'step 6');
    const response = await api('DELETE', `/api/v1/services/${id}`);
    expectCancelled(response, id, `DELETE /api/v1/services/${id}`);
    expectDeprecated(response, `DELETE /api/v1/services/${id}`);
    const status = await api('GET', `/api/v1/services/${id}/status`);
    expect(status.body).toEqual({ id, status: 'cancelled' });
  });

  docStep('20. List vLLM Services — GET /api/v1/vllm/services', async () => {
    const response = await api('GET', '/api/v1/vllm/services');
    expectStatus(response, 200, 'GET /api/v1/vllm/services');
    const body = expectKeys(response.body, ['vllm_services'], 'vLLM services answer');
    const listed = arr(body.vllm_services, 'vllm_services').map((entry, index) => {
      const item = expectKeys(entry, LISTED_SERVICE_KEYS, `vllm_services[${String(index)}]`);
      expect([...SERVICE_STATUSES, ...GROUP_STATUSES]).toContain(item.status);
      if (item.endpoint !== null) expect(item.endpoint).toMatch(/^http:\/\/[^/:]+:[0-9]+$/);
      return item;
    });
    const expected = [
      ids.defaultVllm,
      ids.customModel,
      ids.customResources,
      ids.allOptions,
      ids.cpuOnly,
      `sg-${need(ids.group1, 'group 1')}`,
      `sg-${need(ids.group2, 'group 2')}`,
    ];
    expect(listed.map((item) => item.id).sort()).toEqual(expected.sort());
    expect(listed.find((item) => item.id === ids.defaultVllm)).toMatchObject({
      name: `inference/vllm-single-node-${need(ids.defaultVllm, 'step 1')}`,
      recipe_name: 'inference/vllm-single-node',
      status: 'cancelled',
    });
  });

  docStep('21. Get Available Models — GET /api/v1/vllm/3652098/models', async () => {
    const cpuOnly = need(ids.cpuOnly, 'the CPU-only service (step 8)');
    await waitForStatus(cpuOnly, 'running', BACKFILL_TIMEOUT_MS);
    const single = await api('GET', `/api/v1/vllm/${cpuOnly}/models`);
    expectStatus(single, 200, `GET /api/v1/vllm/${cpuOnly}/models`);
    const body = expectKeys(single.body, VLLM_MODELS_KEYS, 'models answer');
    expect(body).toMatchObject({
      success: true,
      service_id: cpuOnly,
      endpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:[0-9]+$/),
    });
    // Ids as strings, as the document's clients index them; the workload's objects under data.
    expect(body.models).toEqual(['gpt2']);
    expect(arr(body.data, 'data').map((model) => obj(model, 'model').id)).toEqual(['gpt2']);

    const group2 = need(ids.group2, 'group 2 (step 3)');
    await waitForStatus(group2, 'running');
    const group = await api('GET', `/api/v1/vllm/${group2}/models`);
    expectStatus(group, 200, `GET /api/v1/vllm/${group2}/models`);
    const groupBody = expectKeys(group.body, VLLM_MODELS_KEYS, 'group models answer');
    expect(groupBody.success).toBe(true);
    expect([group2, `sg-${group2}`]).toContain(groupBody.service_id);
    expect(groupBody.models).toEqual([DEFAULT_MODEL]);
  });

  docStep('22. Send Prompt to vLLM Service — POST /api/v1/vllm/3652098/prompt', async () => {
    const cpuOnly = need(ids.cpuOnly, 'the CPU-only service (step 8)');
    const single = await api('POST', `/api/v1/vllm/${cpuOnly}/prompt`, DOC.prompt);
    expectStatus(single, 200, `POST /api/v1/vllm/${cpuOnly}/prompt`);
    const answer = expectKeys(single.body, PROMPT_KEYS, 'prompt answer');
    // gpt2 has no chat template: the completions endpoint answers.
    expect(answer).toMatchObject({
      success: true,
      service_id: cpuOnly,
      endpoint_used: 'completions',
      model: 'gpt2',
    });
    expect(str(answer.text, 'text').length).toBeGreaterThan(0);
    expect(answer.response).toBe(answer.text);
    expectUsage(answer.usage, 'usage');
    expect(num(obj(answer.usage, 'usage').completion_tokens, 'completion_tokens')).toBeLessThanOrEqual(100);

    // "Service group response includes routing information"; round-robin over its two replicas.
    const group2 = need(ids.group2, 'group 2 (step 3)');
    const groupDetail = await api('GET', `/api/v1/service-groups/${group2}`);
    const replicaIds = replicasOf(
      expectGroupRecord(groupDetail.body, 'group 2 record'),
      'group 2 record',
    ).map((replica) => replica.id);
    expect(replicaIds).toHaveLength(2);
    const routedTo: unknown[] = [];
    for (let i = 0; i < 2; i++) {
      const response = await api('POST', `/api/v1/vllm/${group2}/prompt`, DOC.prompt);
      expectStatus(response, 200, `POST /api/v1/vllm/${group2}/prompt`);
      const groupAnswer = expectKeys(response.body, GROUP_PROMPT_KEYS, 'group prompt answer');
      expect(groupAnswer).toMatchObject({
        success: true,
        endpoint_used: 'chat',
        model: DEFAULT_MODEL,
        total_replicas: 2,
      });
      expect([group2, `sg-${group2}`]).toContain(groupAnswer.group_id);
      expect([group2, `sg-${group2}`]).toContain(groupAnswer.service_id);
      expect(replicaIds).toContain(groupAnswer.routed_to);
      expect(groupAnswer.routed_to).toMatch(new RegExp(`^${group2}:[0-9]+$`));
      expect(groupAnswer.response).toBe(groupAnswer.text);
      expectUsage(groupAnswer.usage, 'group usage');
      routedTo.push(groupAnswer.routed_to);
    }
    expect(new Set(routedTo).size).toBe(2);

    // Done with the group: the legacy DELETE stops a running group the same way.
    const stop = await api('DELETE', `/api/v1/service-groups/${group2}`);
    const body = expectGroupCancelled(stop, group2, 2, `DELETE /api/v1/service-groups/${group2}`);
    expectDeprecated(stop, `DELETE /api/v1/service-groups/${group2}`);
    expect(body.message).toBe(`Service group ${group2} status updated to cancelled`);
  });

  docStep(
    '23. Send Prompt with Advanced Options — POST /api/v1/vllm/3652098/prompt (model gpt2)',
    async () => {
      const cpuOnly = need(ids.cpuOnly, 'the gpt2 CPU-only service (step 8)');
      const response = await api('POST', `/api/v1/vllm/${cpuOnly}/prompt`, DOC.advancedPrompt);
      expectStatus(response, 200, `POST /api/v1/vllm/${cpuOnly}/prompt`);
      const answer = expectKeys(response.body, PROMPT_KEYS, 'prompt answer');
      expect(answer).toMatchObject({
        success: true,
        service_id: cpuOnly,
        endpoint_used: 'completions',
        model: 'gpt2',
      });
      expect(answer.response).toBe(answer.text);
      expectUsage(answer.usage, 'usage');
      expect(num(obj(answer.usage, 'usage').completion_tokens, 'completion_tokens')).toBeLessThanOrEqual(64);
    },
  );

  docStep('24. List Available Recipes — GET /api/v1/recipes', async () => {
    const response = await api('GET', '/api/v1/recipes');
    expectStatus(response, 200, 'GET /api/v1/recipes');
    const recipes = arr(response.body, 'recipes').map((entry, index) => {
      const recipe = obj(entry, `recipes[${String(index)}]`);
      const extra = Object.keys(recipe).filter((key) => !RECIPE_KEYS.includes(key));
      expect({ recipe: recipe.path, missing: RECIPE_KEYS.filter((key) => !(key in recipe)), extra }).toEqual({
        recipe: recipe.path,
        missing: [],
        extra: extra.filter((key) => RECIPE_OPTIONAL_KEYS.includes(key)),
      });
      expect(recipe.path).toBe(`${str(recipe.category, 'category')}/${str(recipe.name, 'name')}`);
      expect(typeof recipe.description).toBe('string');
      expect(typeof recipe.version).toBe('string');
      expect(isJson(recipe.resources)).toBe(true);
      expect(arr(recipe.ports, 'ports').every((port) => Number.isInteger(port))).toBe(true);
      return recipe;
    });
    expect(recipes.map((recipe) => recipe.path)).toEqual(
      expect.arrayContaining(['inference/vllm-single-node', 'inference/vllm-replicas', 'vector-db/qdrant']),
    );
    expect(recipes.find((recipe) => recipe.path === 'inference/vllm-replicas')).toMatchObject({
      gpu_per_replica: 1,
      base_port: 8001,
    });
  });

  docStep('25. Get Recipe Details — GET /api/v1/recipes/vllm-single-node', async () => {
    const response = await api('GET', '/api/v1/recipes/vllm-single-node');
    expectStatus(response, 200, 'GET /api/v1/recipes/vllm-single-node');
    const recipe = obj(response.body, 'recipe');
    expect(Object.keys(recipe)).toEqual(
      expect.arrayContaining([...RECIPE_KEYS, 'environment', 'parameters']),
    );
    expect(recipe).toMatchObject({
      name: 'vllm-single-node',
      category: 'inference',
      path: 'inference/vllm-single-node',
      resources: { nodes: 1, cpu: 8, memory: '64G', time_limit: 60, gpu: 4 },
      environment: { VLLM_MODEL: DEFAULT_MODEL },
    });
    // Documented parameters by name, as the document's Swagger reference (RecipeDetailDto) shows them.
    const parameters = obj(recipe.parameters, 'parameters');
    expect(Object.keys(parameters)).toEqual(
      expect.arrayContaining(
        Object.keys(DOC.allOptions.config.environment).filter((key) => key !== 'CUDA_VISIBLE_DEVICES'),
      ),
    );
    expect(parameters.VLLM_MODEL).toEqual({ description: expect.any(String), default: DEFAULT_MODEL });
  });

  docStep('26a. Vector DB: List Collections — GET /api/v1/vector-db/3642875/collections', async () => {
    const qdrant = need(ids.qdrant, 'the Qdrant service (step 0)');
    await waitForStatus(qdrant, 'running');
    const services = await api('GET', '/api/v1/vector-db/services');
    expectStatus(services, 200, 'GET /api/v1/vector-db/services');
    const listed = arr(
      expectKeys(services.body, ['vector_db_services'], 'answer').vector_db_services,
      'list',
    );
    expect(listed.map((entry) => expectKeys(entry, LISTED_SERVICE_KEYS, 'vector DB service'))).toEqual([
      expect.objectContaining({ id: qdrant, recipe_name: 'vector-db/qdrant', status: 'running' }),
    ]);
    const response = await api('GET', `/api/v1/vector-db/${qdrant}/collections`);
    expectStatus(response, 200, `GET /api/v1/vector-db/${qdrant}/collections`);
    expect(expectKeys(response.body, COLLECTIONS_KEYS, 'collections answer')).toEqual({
      success: true,
      collections: [],
      service_id: qdrant,
    });
  });

  docStep(
    '26b. Vector DB: Create Collection — PUT /api/v1/vector-db/3642875/collections/my_documents',
    async () => {
      const qdrant = need(ids.qdrant, 'the Qdrant service (step 0)');
      // The document's own body (384 dimensions) cannot take the 4-dimensional points it upserts next.
      const docSized = await api('PUT', `/api/v1/vector-db/${qdrant}/collections/docs_384`, DOC.collection);
      expectStatus(docSized, 200, `PUT .../collections/docs_384 ${JSON.stringify(DOC.collection)}`);
      expect(obj(docSized.body, 'answer').success).toBe(true);
      const mismatch = await api(
        'PUT',
        `/api/v1/vector-db/${qdrant}/collections/docs_384/points`,
        DOC.points,
      );
      expectStatus(mismatch, 400, 'PUT .../collections/docs_384/points with 4-dimensional vectors');
      expect(mismatch.body).toMatchObject({ success: false, error: expect.any(String) });
      expect(str(mismatch.body.message, 'message')).toContain('384');

      // So my_documents gets the size of the document's vectors.
      const body = { ...DOC.collection, vector_size: 4 };
      const response = await api('PUT', `/api/v1/vector-db/${qdrant}/collections/my_documents`, body);
      expectStatus(response, 200, `PUT /api/v1/vector-db/${qdrant}/collections/my_documents`);
      expect(obj(response.body, 'answer').success).toBe(true);
      const again = await api('PUT', `/api/v1/vector-db/${qdrant}/collections/my_documents`, body);
      expectStatus(again, 409, 'PUT .../collections/my_documents a second time');
      const listed = await api('GET', `/api/v1/vector-db/${qdrant}/collections`);
      expect(arr(obj(listed.body, 'collections answer').collections, 'collections').sort()).toEqual([
        'docs_384',
        'my_documents',
      ]);
    },
  );

  docStep(
    '26c. Vector DB: Upsert Points — PUT /api/v1/vector-db/3642875/collections/my_documents/points',
    async () => {
      const qdrant = need(ids.qdrant, 'the Qdrant service (step 0)');
      const response = await api(
        'PUT',
        `/api/v1/vector-db/${qdrant}/collections/my_documents/points`,
        DOC.points,
      );
      expectStatus(response, 200, `PUT /api/v1/vector-db/${qdrant}/collections/my_documents/points`);
      expect(obj(response.body, 'answer').success).toBe(true);
    },
  );

  docStep(
    '26d. Vector DB: Search Points — POST /api/v1/vector-db/3642875/collections/my_documents/points/search',
    async () => {
      const qdrant = need(ids.qdrant, 'the Qdrant service (step 0)');
      const response = await api(
        'POST',
        `/api/v1/vector-db/${qdrant}/collections/my_documents/points/search`,
        DOC.search,
      );
      expectStatus(response, 200, `POST /api/v1/vector-db/${qdrant}/collections/my_documents/points/search`);
      const body = expectKeys(response.body, SEARCH_KEYS, 'search answer');
      expect(body.success).toBe(true);
      const results = arr(body.results, 'results').map((hit, index) =>
        expectKeys(hit, HIT_KEYS, `results[${String(index)}]`),
      );
      expect(body.result).toEqual(body.results);
      expect(body.num_results).toBe(2);
      expect(results.map((hit) => [hit.id, hit.payload])).toEqual([
        [1, { text: 'First document' }],
        [2, { text: 'Second document' }],
      ]);
      // Cosine similarity of the query with itself is 1; the other point is close but lower.
      expect(num(results[0]?.score, 'score')).toBeCloseTo(1, 5);
      expect(num(results[1]?.score, 'score')).toBeLessThan(num(results[0]?.score, 'score'));
    },
  );

  docStep('27. Qdrant Metrics (Prometheus) — GET /api/v1/vector-db/3642875/metrics', async () => {
    const qdrant = need(ids.qdrant, 'the Qdrant service (step 0)');
    const response = await api<string>('GET', `/api/v1/vector-db/${qdrant}/metrics`);
    expectStatus(response, 200, `GET /api/v1/vector-db/${qdrant}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const parsed = samples(response.body);
    const workload = parsed.filter((sample) => sample.labels.replica_id !== undefined);
    expect(workload.length).toBeGreaterThan(0);
    for (const sample of workload) {
      expect(sample.labels.service_id).toBe(qdrant);
      expect(sample.labels.replica_id).toMatch(new RegExp(`^${qdrant}:[0-9]+$`));
    }
  });

  docStep('28. vLLM Metrics (Prometheus) — GET /api/v1/vllm/3642874/metrics', async () => {
    const cpuOnly = need(ids.cpuOnly, 'the CPU-only vLLM service (step 8)');
    const response = await api<string>('GET', `/api/v1/vllm/${cpuOnly}/metrics`);
    expectStatus(response, 200, `GET /api/v1/vllm/${cpuOnly}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const parsed = samples(response.body);
    const vllm = parsed.filter((sample) => sample.name.startsWith('vllm:'));
    expect(vllm.length).toBeGreaterThan(0);
    for (const sample of vllm) {
      expect(sample.labels.service_id).toBe(cpuOnly);
      expect(sample.labels.replica_id).toMatch(new RegExp(`^${cpuOnly}:[0-9]+$`));
    }
    // The prompts of steps 22 and 23 were served by this workload and counted.
    const prompts = parsed.find((sample) => sample.name === 'vllm:request_success_total');
    expect(prompts).toBeDefined();
  });
});
