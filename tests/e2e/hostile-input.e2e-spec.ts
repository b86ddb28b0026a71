import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRedis } from '@aiplane/registry';
import {
  listenerPid,
  readInfra,
  slurmJobsUnder,
  waitUntil,
  withStack,
  type ApiResponse,
} from '@aiplane/testing';

/*
 * Hostile input on the product's real shape: gateway → SSH tunnel → orchestrator → BullMQ →
 * slurm-worker → sbatch on real SLURM. The promise under test: a value a user sends either
 * reaches the workload byte for byte or is refused with a 400; no value is ever run by a shell,
 * and no request parameter ever becomes a path.
 *
 * "Byte for byte" is observed twice, by two independent readers: the vLLM simulator serves its
 * VLLM_MODEL as the model id (GET /vllm/{id}/models and a prompt's `model`), and the kernel shows
 * the workload's real environment in /proc/<pid>/environ (MY_NOTE, HF_TOKEN, the model again).
 * Every payload tries to create a canary file, by absolute path and relative to the job's working
 * directory; the canary must never appear.
 */

const PORTS = { gateway: 18601, orchestrator: 18600 };
// Each service prefers its own port: jobs started in the same second on one node could otherwise
// both pick the same "free" port (see the report). 28600+ is far from every recipe's base port.
const FIRST_PORT = 28_600;
// Small CPU-only jobs: several run at once and no GPU is held from other suites.
const SMALL = { gpu: null, cpu: 1, memory: '1G', time_limit: 10 };
const ACTIVE = ['pending', 'configuring', 'running'];

interface ServiceRecord {
  id: string;
  status: string;
  endpoint: string | null;
  config: { environment?: Record<string, string> };
}
interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
}

/** A path segment as a careful client encodes it; "." and ".." stay literal (rawRequest sends them as they are). */
function segment(value: string): string {
  return encodeURIComponent(value);
}

/**
 * One request with its path sent exactly as written. fetch resolves "..", "." and even "%2E%2E"
 * segments before sending, so it cannot show what the server does with them.
 */
function rawRequest(
  baseUrl: string,
  method: string,
  rawPath: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse> {
  const url = new URL(baseUrl);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path: rawPath,
        headers: {
          ...headers,
          ...(payload
            ? { 'content-type': 'application/json', 'content-length': String(payload.length) }
            : {}),
        },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const json = (res.headers['content-type'] ?? '').includes('json');
          resolve({
            status: res.statusCode ?? 0,
            headers: new Headers(),
            body: json ? (JSON.parse(text) as unknown) : text,
          });
        });
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${method} ${rawPath} timed out`)));
    req.end(payload);
  });
}

/** The environment a process was started with, exactly as the kernel keeps it. */
function processEnvironment(pid: number): Map<string, Buffer> {
  const raw = readFileSync(`/proc/${pid}/environ`);
  const variables = new Map<string, Buffer>();
  let start = 0;
  for (let end = raw.indexOf(0, start); end !== -1; end = raw.indexOf(0, start)) {
    const entry = raw.subarray(start, end);
    const equals = entry.indexOf(0x3d);
    if (equals > 0) variables.set(entry.subarray(0, equals).toString('utf8'), entry.subarray(equals + 1));
    start = end + 1;
  }
  return variables;
}

/** Files named `name` anywhere under `root` (the jobs' working directories live there). */
function findFiles(root: string, name: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.name === name) found.push(full);
      if (entry.isDirectory()) walk(full);
    }
  };
  if (existsSync(root)) walk(root);
  return found;
}

/** The payloads that try to run a command; the others try expansion, traversal or confusion. */
const INJECTIONS = new Set([
  'single quotes',
  'double quotes',
  'command substitution',
  'backticks',
  'newlines',
  'semicolon',
  'and-or',
  'pipe',
  '30 KB',
]);

/**
 * Values that would run `touch <canary>` (or create `relative` in the working directory) if any
 * shell evaluated them. None starts or ends with white space: the simulator trims its model id.
 */
function hostileValues(canary: string, relative: string): Record<string, string> {
  const c = canary;
  const r = relative;
  const values: Record<string, string> = {
    'single quotes': `it''s 'quoted'; x'; touch ${c}; echo '`,
    'double quotes': `say "hi" x"; touch ${c}; echo "`,
    'command substitution': `model-$(touch ${c})-$(touch ${r})`,
    backticks: `model-\`touch ${c}\`-\`touch ${r}\``,
    newlines: `first line\ntouch ${c}\r\ntouch ${r}\n#SBATCH --wrap=touch\nlast line`,
    semicolon: `model; touch ${c}; touch ${r}`,
    'and-or': `model && touch ${c} || touch ${r}`,
    pipe: `model | touch ${c} |& tee ${r}`,
    'path traversal': `../../../../../../etc/passwd/../../..${c}`,
    unicode: `模型-é-☃-🦙-\u202eevil\u202c-zero\u200dwidth-nb\u00a0sp-${c}`,
    'shell expansions': `$HOME \${PATH} $((6*7)) ~root {a,b} * ? [a-z] !! \\$(touch ${c}) %s%n $'\\x41'`,
    'argument-like': `--model=evil --host=0.0.0.0 -- -rf ${c}`,
  };
  // 30 KB (the limit is 32 KiB) of all of the above, multi-byte characters included.
  const all = Object.values(values).join(' ');
  let big = '';
  while (Buffer.byteLength(big, 'utf8') < 30 * 1024 - Buffer.byteLength(all, 'utf8')) big += `${all} `;
  values['30 KB'] = `${big}end`;
  return values;
}

describe('hostile input on real SLURM through the SSH tunnel', () => {
  let canaryDir: string;
  let canary: string;
  // Relative to the job's working directory (its job dir, under the state dir).
  const RELATIVE_CANARY = 'aiplane-relative-canary';
  let nextPort = FIRST_PORT;

  beforeAll(() => {
    canaryDir = mkdtempSync(path.join(os.tmpdir(), 'aiplane-canary-'));
    canary = path.join(canaryDir, 'CANARY');
  });

  const suite = withStack(() => ({ label: 'hostile', scheduler: 'slurm', ssh: true, ports: PORTS }));
  const { api } = suite;

  afterAll(() => {
    rmSync(canaryDir, { recursive: true, force: true });
  });

  function expectNoCanary(): void {
    expect(readdirSync(canaryDir)).toEqual([]);
    expect(existsSync(canary)).toBe(false);
    expect(findFiles(suite.stateDir, RELATIVE_CANARY)).toEqual([]);
    expect(findFiles(suite.stateDir, 'CANARY')).toEqual([]);
    // `ls` as a second opinion: an empty directory lists nothing.
    expect(execFileSync('ls', ['-A', canaryDir], { encoding: 'utf8' })).toBe('');
  }

  /** Everything that could show a submission: records, submissions in Redis, job dirs, SLURM's own list. */
  async function footprint(): Promise<{
    services: number;
    submissions: number;
    jobDirs: number;
    jobs: number;
  }> {
    const list = await api<ServiceRecord[]>('GET', '/api/v1/services');
    expect(list.status).toBe(200);
    const redis = createRedis(readInfra().redisUrl);
    const submissions = await redis.keys(`${suite.redisPrefix}:submission:*`);
    redis.disconnect();
    const jobsDir = path.join(suite.stateDir, 'jobs');
    return {
      services: list.body.length,
      submissions: submissions.length,
      jobDirs: existsSync(jobsDir) ? readdirSync(jobsDir).length : 0,
      jobs: slurmJobsUnder(suite.stateDir).length,
    };
  }

  function expect400(response: ApiResponse, mentions?: string): void {
    expect({ status: response.status, body: response.body }).toMatchObject({
      status: 400,
      body: { statusCode: 400, error: 'Bad Request', message: expect.any(String) },
    });
    if (mentions !== undefined) expect((response.body as ErrorBody).message).toContain(mentions);
  }

  async function createSmall(environment: Record<string, string>): Promise<{ id: string; port: number }> {
    const port = nextPort;
    nextPort += 5;
    const response = await api<ServiceRecord>('POST', '/api/v1/services', {
      recipe_name: 'inference/vllm-single-node',
      config: { environment: { ...environment, VLLM_PORT: String(port) }, resources: SMALL },
    });
    expect({ status: response.status, body: response.body }).toMatchObject({ status: 200 });
    return { id: response.body.id, port };
  }

  async function statusOf(id: string): Promise<string> {
    return (await api<{ status: string }>('GET', `/api/v1/services/${id}/status`)).body.status;
  }

  async function waitForAll(ids: string[], wanted: string, timeoutMs = 90_000): Promise<void> {
    const statuses = new Map<string, string>();
    await waitUntil(
      () => ids.every((id) => statuses.get(id) === wanted),
      timeoutMs,
      async () => {
        for (const id of ids) {
          if (statuses.get(id) !== wanted) statuses.set(id, await statusOf(id));
        }
      },
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}; statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
    });
  }

  it('carries quotes, $(...), backticks, newlines, ; && |, ../, unicode and 30 KB to the workload byte for byte, never to a shell', async () => {
    const hostile = hostileValues(canary, RELATIVE_CANARY);

    // A control: the payloads are live. Pasted into a script the way a naive renderer would (bare,
    // in double quotes, in single quotes), each injection payload does create its canary.
    const controlDir = mkdtempSync(path.join(os.tmpdir(), 'aiplane-control-'));
    try {
      const controlCanary = path.join(controlDir, 'CANARY');
      for (const [label, value] of Object.entries(hostileValues(controlCanary, 'RELATIVE'))) {
        if (!INJECTIONS.has(label)) continue;
        for (const script of [`X=${value}`, `X="${value}"`, `X='${value}'`]) {
          try {
            execFileSync('bash', ['-c', script], { cwd: controlDir, stdio: 'ignore', timeout: 5_000 });
          } catch {
            // A broken quote is a syntax error for one embedding; another one fires.
          }
        }
        const fired = existsSync(controlCanary) || existsSync(path.join(controlDir, 'RELATIVE'));
        expect({ label, fired }).toEqual({ label, fired: true });
        rmSync(controlCanary, { force: true });
        rmSync(path.join(controlDir, 'RELATIVE'), { force: true });
      }
    } finally {
      rmSync(controlDir, { recursive: true, force: true });
    }

    expect(Buffer.byteLength(hostile['30 KB'] ?? '', 'utf8')).toBeGreaterThan(29 * 1024);
    expect(Buffer.byteLength(hostile['30 KB'] ?? '', 'utf8')).toBeLessThanOrEqual(30 * 1024);

    // MY_NOTE keeps leading and trailing white space, which the simulator would trim from a model id.
    const note = (value: string): string => ` \t${value}\n `;
    const services: { label: string; value: string; id: string; port: number }[] = [];
    for (const [label, value] of Object.entries(hostile)) {
      const { id, port } = await createSmall({ VLLM_MODEL: value, MY_NOTE: note(value), HF_TOKEN: value });
      services.push({ label, value, id, port });
    }
    // The record shows the config as sent (the token redacted), itself byte for byte.
    for (const service of services) {
      const record = await api<ServiceRecord>('GET', `/api/v1/services/${service.id}`);
      expect(record.body.config.environment).toEqual({
        VLLM_MODEL: service.value,
        MY_NOTE: note(service.value),
        HF_TOKEN: '***',
        VLLM_PORT: String(service.port),
      });
    }
    await waitForAll(
      services.map((service) => service.id),
      'running',
    );

    for (const service of services) {
      // Reader 1: the workload itself, through the API.
      const models = await api<{ success: boolean; models: string[] }>(
        'GET',
        `/api/v1/vllm/${service.id}/models`,
      );
      expect({ label: service.label, status: models.status }).toEqual({ label: service.label, status: 200 });
      expect({ label: service.label, model: models.body.models[0] }).toEqual({
        label: service.label,
        model: service.value,
      });
      // Asked for by that name, the model answers under it: the value went out and came back intact.
      const prompt = await api<{ success: boolean; model: string }>(
        'POST',
        `/api/v1/vllm/${service.id}/prompt`,
        {
          prompt: `Repeat after me: ${service.value}`,
          model: service.value,
          max_tokens: 4,
        },
      );
      if (service.value.length <= 256) {
        expect({ label: service.label, status: prompt.status, model: prompt.body.model }).toEqual({
          label: service.label,
          status: 200,
          model: service.value,
        });
      } else {
        // The prompt's `model` field is limited to 256 characters: refused before any workload sees it.
        expect400(prompt, 'model');
      }

      // Reader 2: the kernel's copy of the environment of the process serving the endpoint.
      const { endpoint } = (await api<ServiceRecord>('GET', `/api/v1/services/${service.id}`)).body;
      const environment = processEnvironment(listenerPid(Number(new URL(endpoint ?? 'http://x').port)));
      for (const [name, expected] of [
        ['VLLM_MODEL', service.value],
        ['MY_NOTE', note(service.value)],
        ['HF_TOKEN', service.value],
      ] as const) {
        expect({ label: service.label, name, bytes: environment.get(name)?.toString('hex') }).toEqual({
          label: service.label,
          name,
          bytes: Buffer.from(expected, 'utf8').toString('hex'),
        });
      }
    }
    expectNoCanary();

    for (const service of services) {
      const cancelled = await api('POST', `/api/v1/services/${service.id}/status`, { status: 'cancelled' });
      expect(cancelled.status).toBe(200);
    }
    // The jobs' EXIT traps have run too: still nothing.
    await waitUntil(
      () => slurmJobsUnder(suite.stateDir).every((job) => !ACTIVE_SLURM.has(job.state)),
      30_000,
    );
    expectNoCanary();
  });

  it('refuses what cannot reach a process intact, or would steer the job, with a 400 that names it, and submits nothing', async () => {
    const before = await footprint();
    const base = { recipe_name: 'inference/vllm-single-node' };
    const withEnv = (environment: Record<string, unknown>): unknown => ({
      ...base,
      config: { environment, resources: SMALL },
    });
    const withResources = (resources: Record<string, unknown>): unknown => ({
      ...base,
      config: { resources: { ...SMALL, ...resources } },
    });
    const c = canary;
    const refused: [string, unknown, string][] = [
      // Values no process can receive intact.
      ['NUL byte', withEnv({ VLLM_MODEL: `a\u0000$(touch ${c})` }), 'NUL'],
      ['unpaired surrogate', withEnv({ VLLM_MODEL: 'a\ud800b' }), 'surrogate'],
      ['33 KB value', withEnv({ VLLM_MODEL: 'x'.repeat(33 * 1024) }), '32768'],
      ['object value', withEnv({ VLLM_MODEL: { $gt: '' } }), 'environment.VLLM_MODEL'],
      ['array value', withEnv({ VLLM_MODEL: [`$(touch ${c})`] }), 'environment.VLLM_MODEL'],
      // Names that are not identifiers, or that steer the shell or the scheduler (the linker's stay
      // open: docs/security.md).
      ['name with ;', withEnv({ 'A;touch': 'x' }), 'environment'],
      ['name with space', withEnv({ 'A B': 'x' }), 'environment'],
      ['name with =', withEnv({ 'A=B': 'x' }), 'environment'],
      ['name with $()', withEnv({ [`$(touch ${c})`]: 'x' }), 'environment'],
      ['name with newline', withEnv({ 'A\nB': 'x' }), 'environment'],
      ['name starting with a digit', withEnv({ '1A': 'x' }), 'environment'],
      ['BASH_FUNC_ import', withEnv({ 'BASH_FUNC_x%%': `() { touch ${c}; }` }), 'environment'],
      ['BASH_ENV', withEnv({ BASH_ENV: c }), 'BASH_ENV'],
      ['PATH', withEnv({ PATH: canaryDir }), 'PATH'],
      ['SLURM_ variable', withEnv({ SLURM_JOB_ID: '1' }), 'SLURM_'],
      ['SBATCH_ variable', withEnv({ SBATCH_EXPORT: 'NONE' }), 'SBATCH_'],
      ['__proto__', withEnv({ ['__proto__']: 'x' }), '__proto__'],
      ['constructor', withEnv({ constructor: 'x' }), 'constructor'],
      ['hostile port', withEnv({ VLLM_PORT: `8001; touch ${c}` }), 'VLLM_PORT'],
      // Resources: everything that reaches an #SBATCH line is held to a safe alphabet.
      ['cpu "8; rm"', withResources({ cpu: '8; rm -rf /' }), 'cpu'],
      ['cpu $()', withResources({ cpu: `$(touch ${c})` }), 'cpu'],
      ['memory 64G$(x)', withResources({ memory: `64G$(touch ${c})` }), 'memory'],
      ['memory with newline', withResources({ memory: '64G\n#SBATCH --uid=0' }), 'memory'],
      ['time_limit with newline', withResources({ time_limit: '60\n#SBATCH --wrap=id' }), 'time_limit'],
      ['nodes with option', withResources({ nodes: '1 --wrap=id' }), 'nodes'],
      ['gpu "1;id"', withResources({ gpu: '1;id' }), 'gpu'],
      ['partition debug;id', withResources({ partition: 'debug;id' }), 'partition'],
      ['account $()', withResources({ account: `$(touch ${c})` }), 'account'],
      ['qos with space', withResources({ qos: 'normal --uid=0' }), 'qos'],
      ['unknown resource', withResources({ uid: 0 }), 'uid'],
      ['gpu_per_replica "2;id"', { ...base, config: { gpu_per_replica: '2;id' } }, 'gpu_per_replica'],
      // Recipe names: a catalogue lookup, never a path.
      ['recipe ../../etc/passwd', { recipe_name: '../../etc/passwd' }, 'recipe_name'],
      ['recipe ..', { recipe_name: '..' }, 'recipe_name'],
      ['recipe ../x', { recipe_name: '../inference' }, 'recipe_name'],
      ['recipe .hidden', { recipe_name: 'inference/.vllm-single-node' }, 'recipe_name'],
      ['recipe with ;', { recipe_name: 'inference/vllm-single-node;id' }, 'recipe_name'],
      ['recipe with $()', { recipe_name: `$(touch ${c})` }, 'recipe_name'],
      ['recipe with newline', { recipe_name: 'inference/vllm-single-node\n' }, 'recipe_name'],
      ['recipe with backslash', { recipe_name: 'inference\\vllm-single-node' }, 'recipe_name'],
      ['recipe %2e%2e', { recipe_name: '%2e%2e/%2e%2e' }, 'recipe_name'],
      ['recipe of 200 characters', { recipe_name: 'a'.repeat(200) }, 'recipe_name'],
      ['unknown top-level field', { ...base, command: `touch ${c}` }, 'command'],
      ['unknown config field', { ...base, config: { script: `touch ${c}` } }, 'script'],
    ];
    for (const [label, body, mentions] of refused) {
      const response = await api('POST', '/api/v1/services', body);
      expect({ label, status: response.status }).toEqual({ label, status: 400 });
      expect400(response, mentions);
    }
    // A name that is well formed but unknown is a 404 listing the known recipes, also with nothing submitted.
    const unknown = await api<ErrorBody>('POST', '/api/v1/services', { recipe_name: 'inference/rm-rf' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toContain('inference/vllm-single-node');

    expect(await footprint()).toEqual(before);
    expectNoCanary();
  });

  it('keeps path and query parameters away from the filesystem: ids are validated numbers, names a safe alphabet', async () => {
    const qdrantPort = nextPort;
    nextPort += 5;
    const qdrant = await api<ServiceRecord>('POST', '/api/v1/services', {
      recipe_name: 'vector-db/qdrant',
      config: {
        environment: { QDRANT__SERVICE__HTTP_PORT: String(qdrantPort) },
        resources: { cpu: 1, memory: '1G', time_limit: 10 },
      },
    });
    expect(qdrant.status).toBe(200);
    const vllm = await createSmall({ VLLM_MODEL: 'gpt2' });
    await waitForAll([qdrant.body.id, vllm.id], 'running');
    const created = await api('PUT', `/api/v1/vector-db/${qdrant.body.id}/collections/docs`, {
      vector_size: 4,
    });
    expect(created.status).toBe(200);
    const before = await footprint();

    const gateway = (method: string, rawPath: string, body?: unknown): Promise<ApiResponse> =>
      rawRequest(suite.stack.gatewayUrl, method, rawPath, body);
    const hostileIds = [
      '../../etc/passwd',
      '..',
      '.',
      '1;id',
      '1 && id',
      `$(touch ${canary})`,
      '1/../../../../etc/passwd',
      `${vllm.id}/../../etc/passwd`,
      `${vllm.id}\u0000`,
      `${vllm.id}\n`,
      'sg-../x',
      '-1',
      '1e3',
      '0x10',
      '9'.repeat(13),
      '１２３',
    ];
    // Each id is sent encoded, and the traversal ones also as a client that does not encode would.
    const sentIds = [
      ...hostileIds.map(segment),
      '%2e%2e%2f',
      '%2E%2E',
      '..%2F..%2Fetc%2Fpasswd',
      '%252e%252e%252f',
      `${vllm.id}%00`,
      `${vllm.id}%0a`,
    ];
    const routes = (id: string): [string, string][] => [
      ['GET', `/api/v1/services/${id}`],
      ['GET', `/api/v1/services/${id}/logs`],
      ['GET', `/api/v1/services/${id}/logs?lines=5`],
      ['GET', `/api/v1/services/${id}/status`],
      ['GET', `/api/v1/services/${id}/metrics`],
      ['DELETE', `/api/v1/services/${id}`],
      ['GET', `/api/v1/service-groups/${id}`],
      ['GET', `/api/v1/vllm/${id}/models`],
      ['GET', `/api/v1/vector-db/${id}/collections`],
    ];
    const bearer = { authorization: `Bearer ${suite.stack.orchestratorToken}` };
    for (const id of sentIds) {
      for (const [method, route] of routes(id)) {
        const response = await gateway(method, route);
        expect({ id, route, status: response.status }).toEqual({ id, route, status: 400 });
        expect400(response, 'id');
        expect(JSON.stringify(response.body)).not.toContain('root:x:0:0');
      }
      // On-cluster clients call the orchestrator directly: it validates the same way.
      const direct = await rawRequest(
        suite.stack.orchestratorUrl,
        'GET',
        `/api/services/${id}/logs`,
        undefined,
        bearer,
      );
      expect({ id, status: direct.status }).toEqual({ id, status: 400 });
    }
    // A client that does not encode at all: "/services/../../etc/passwd/logs" is not a route.
    for (const rawPath of ['/api/v1/services/../../etc/passwd/logs', '/api/v1/services/./logs']) {
      const response = await gateway('GET', rawPath);
      expect([400, 404]).toContain(response.status);
      expect(response.body).toMatchObject({ statusCode: response.status, message: expect.any(String) });
    }
    expect400(
      await gateway('POST', `/api/v1/services/${segment('1;id')}/status`, { status: 'cancelled' }),
      'id',
    );

    for (const lines of ['../../etc/passwd', '-1', '0', '1e3', '5;id', '99999999999', '$(id)']) {
      const response = await api(
        'GET',
        `/api/v1/services/${vllm.id}/logs?lines=${encodeURIComponent(lines)}`,
      );
      expect400(response, 'lines');
    }
    // The logs of a real job are that job's own stdout and stderr, and nothing else.
    const jobLogs = await api<{ logs: string }>('GET', `/api/v1/services/${vllm.id}/logs?lines=50`);
    expect(jobLogs.status).toBe(200);
    expect(jobLogs.body.logs).toContain('=== STDOUT ===');
    expect(jobLogs.body.logs).toContain(`aiplane: starting inference/vllm-single-node as job ${vllm.id}`);
    expect(jobLogs.body.logs).not.toContain('root:x:0:0');

    const hostileNames = [
      '../../etc/passwd',
      '..',
      '.',
      'a/b',
      'a.b',
      '.hidden',
      'docs;id',
      `$(touch ${canary})`,
      '`id`',
      'a b',
      'docs\u0000',
      'docs\n',
      '%2e%2e',
      '名前',
      'x'.repeat(256),
    ];
    const qdrantId = qdrant.body.id;
    for (const name of [...hostileNames.map(segment), '%2e%2e%2f', '..%2F..%2Fetc']) {
      const at = `/api/v1/vector-db/${qdrantId}/collections/${name}`;
      for (const [method, route, body] of [
        ['PUT', at, { vector_size: 4 }],
        ['GET', at, undefined],
        ['DELETE', at, undefined],
        ['PUT', `${at}/points`, { points: [{ id: 1, vector: [1, 2, 3, 4] }] }],
        ['POST', `${at}/points/search`, { query_vector: [1, 2, 3, 4] }],
      ] as const) {
        const response = await gateway(method, route, body);
        expect({ name, method, route, status: response.status }).toMatchObject({ status: 400 });
        expect400(response, 'name');
      }
    }
    const collections = await api<{ collections: string[] }>(
      'GET',
      `/api/v1/vector-db/${qdrantId}/collections`,
    );
    expect(collections.body.collections).toEqual(['docs']);

    for (const name of ['../../etc/passwd', '..', 'a;id', `$(touch ${canary})`, '%2e%2e']) {
      expect400(await gateway('GET', `/api/v1/recipes/${segment(name)}`), 'name');
      expect400(await gateway('GET', `/api/v1/recipes/${segment(name)}/vllm-single-node`), 'category');
      expect400(await gateway('GET', `/api/v1/vllm/model-info/${segment(name)}/x`), 'org');
    }

    expect(await footprint()).toEqual(before);
    for (const id of [qdrantId, vllm.id]) {
      expect((await api('POST', `/api/v1/services/${id}/status`, { status: 'cancelled' })).status).toBe(200);
    }
    expectNoCanary();
  });

  it('lets the workload refuse a value it cannot use: the job fails with the value quoted, never executed', async () => {
    const value = `$(touch ${canary})\`touch ${RELATIVE_CANARY}\`; touch ${canary}`;
    const { id } = await createSmall({ VLLM_MAX_MODEL_LEN: value });
    await waitForAll([id], 'failed');
    const logs = await api<{ logs: string }>('GET', `/api/v1/services/${id}/logs`);
    // The simulator names the variable and shows the value it received, JSON-quoted.
    expect(logs.body.logs).toContain(`VLLM_MAX_MODEL_LEN=${JSON.stringify(value)}`);
    expectNoCanary();
  });

  it('leaves nothing behind: every job of the suite has ended and no canary exists', async () => {
    const { body } = await api<ServiceRecord[]>('GET', '/api/v1/services');
    for (const service of body) {
      if (ACTIVE.includes(service.status)) {
        expect(
          (await api('POST', `/api/v1/services/${service.id}/status`, { status: 'cancelled' })).status,
        ).toBe(200);
      }
    }
    await waitUntil(
      () => slurmJobsUnder(suite.stateDir).every((job) => !ACTIVE_SLURM.has(job.state)),
      30_000,
    );
    expectNoCanary();
  });
});

const ACTIVE_SLURM = new Set(['PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING', 'SUSPENDED']);
