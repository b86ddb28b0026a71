import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { renderBatchScript } from './batch-script.render';
import { mergeConfig, type ServiceConfigInput } from './config.merge';
import { loadRecipeCatalogue } from './recipe.catalogue';
import { parseRecipe, type Recipe } from './recipe.schema';

// A recipe whose "workload" reports what it received, so the tests see the job from the inside.
const PROBE_COMMAND = `printf '%s' "$VLLM_MODEL" >"$AIPLANE_JOB_DIR/model"
printf '%s' "$VLLM_PORT" >"$AIPLANE_JOB_DIR/port"
printf '%s' "\${CUDA_VISIBLE_DEVICES:-none}" >"$AIPLANE_JOB_DIR/gpus"
if [ -n "\${PROBE_SLEEP:-}" ]; then exec sleep "$PROBE_SLEEP"; fi
exit "\${PROBE_EXIT:-0}"`;

function probeRecipe(basePort: number): Recipe {
  const indented = PROBE_COMMAND.split('\n')
    .map((line) => `      ${line}`)
    .join('\n');
  return parseRecipe(
    `name: probe
description: test workload
version: '1.0.0'
kind: vllm
resources: { nodes: 1, cpu: 1, memory: 100M, time_limit: 5, gpu: 0 }
ports: { base: ${basePort} }
readiness: { path: /health }
environment: { VLLM_MODEL: default-model }
runtime:
  cluster:
    image: docker://example/unused:1
    command: |
${indented}
  local:
    command: |
${indented}
`,
    'test/probe.yaml',
  );
}

async function freePort(): Promise<number> {
  const server = await listen(0);
  const address = server.address();
  await close(server);
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      resolve(server);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
}

function readIfThere(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

describe('rendered batch script, run by bash', () => {
  let jobDir: string;
  let basePort: number;
  let recipe: Recipe;

  beforeEach(async () => {
    jobDir = mkdtempSync(join(tmpdir(), 'aiplane-job-'));
    basePort = await freePort();
    recipe = probeRecipe(basePort);
  });
  afterEach(() => {
    rmSync(jobDir, { recursive: true, force: true });
  });

  /** Renders for `config` and starts the script the way the local runner does: bash, values in the environment. */
  function start(config: ServiceConfigInput | undefined, extraEnv: Record<string, string> = {}) {
    const effective = mergeConfig(recipe, config);
    const script = join(jobDir, 'job.sh');
    writeFileSync(
      script,
      renderBatchScript({ recipe, config: effective, profile: 'local', jobName: 'probe', jobDir }),
    );
    const child = spawn('bash', [script], {
      env: {
        PATH: process.env.PATH,
        AIPLANE_ENDPOINT_HOST: '127.0.0.1',
        ...effective.environment,
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      child.on('close', (code) => {
        resolve({ code, stdout, stderr });
      });
    });
    return { child, done };
  }

  const file = (name: string): string | undefined => readIfThere(join(jobDir, name));

  it('hands every user value to the workload byte for byte and publishes the endpoint', async () => {
    const hostile = `it's "quoted" $(touch ${jobDir}/pwned) \`id\` ; rm -rf ../ \n\t✓ 🙂 \${HOME}`;
    const { code, stdout } = await start({ environment: { VLLM_MODEL: hostile } }).done;

    expect(code).toBe(0);
    expect(file('model')).toBe(hostile);
    expect(file('pwned')).toBeUndefined();
    expect(file('port')).toBe(String(basePort));
    expect(file('endpoint')).toBe(`http://127.0.0.1:${basePort}`);
    expect(file('exit_code')).toBe('0\n');
    expect(file('endpoint.tmp')).toBeUndefined();
    expect(stdout).toMatch(
      new RegExp(`^aiplane: starting test/probe as job local on \\S+, port ${basePort}\\n$`),
    );
  });

  it('records the exit code of a failing workload', async () => {
    const { code } = await start(undefined, { PROBE_EXIT: '3' }).done;
    expect(code).toBe(3);
    expect(file('exit_code')).toBe('3\n');
  });

  it('skips a port something already listens on and reports the one it bound', async () => {
    const busy = await listen(basePort);
    try {
      const { code } = await start(undefined).done;
      expect(code).toBe(0);
      const port = Number(file('port'));
      expect(port).toBeGreaterThan(basePort);
      expect(file('endpoint')).toBe(`http://127.0.0.1:${port}`);
    } finally {
      await close(busy);
    }
  });

  it("starts from the user's port when one is given", async () => {
    const wanted = await freePort();
    await start({ environment: { VLLM_PORT: String(wanted) } }).done;
    expect(file('port')).toBe(String(wanted));
  });

  it.each(['abc', '8001x', `a[$(touch pwned)]`, '99999', '0123'])(
    'fails before any arithmetic on a start port of %j that bypassed mergeConfig',
    async (port) => {
      const { code, stderr } = await start(undefined, { VLLM_PORT: port }).done;
      expect(code).not.toBe(0);
      expect(stderr).toContain('aiplane: the start port');
      expect(file('model')).toBeUndefined();
      expect(file('endpoint')).toBeUndefined();
      expect(file('exit_code')).toBe(`${code}\n`);
      expect(existsSync(join(jobDir, 'pwned')) || existsSync('pwned')).toBe(false);
    },
  );

  it('passes SIGTERM on to the workload and records 143', async () => {
    const { child, done } = start(undefined, { PROBE_SLEEP: '30' });
    const deadline = Date.now() + 10_000;
    while (file('model') === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    child.kill('SIGTERM');
    const { code } = await done;

    expect(code).toBe(143);
    expect(file('exit_code')).toBe('143\n');
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('rendered batch script, submitted with sbatch', () => {
  let jobDir: string;

  beforeEach(() => {
    jobDir = mkdtempSync(join(tmpdir(), 'aiplane-sbatch-'));
  });
  afterEach(() => {
    rmSync(jobDir, { recursive: true, force: true });
  });

  it('is accepted by SLURM, gets its GPUs and receives user values intact', async () => {
    const recipe = probeRecipe(await freePort());
    const hostile = `multi\nline 'value' "with" $(id) and ; é`;
    const effective = mergeConfig(recipe, {
      environment: { VLLM_MODEL: hostile },
      resources: { gpu: '2', cpu: '1', memory: '100M', time_limit: 2, partition: 'debug' },
    });
    const script = join(jobDir, 'job.sh');
    writeFileSync(
      script,
      renderBatchScript({
        recipe,
        config: effective,
        profile: 'local',
        jobName: 'aiplane-recipes-int',
        jobDir,
      }),
    );

    const jobId = execFileSync('sbatch', ['--parsable', script], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        AIPLANE_ENDPOINT_HOST: '127.0.0.1',
        ...effective.environment,
      },
      encoding: 'utf8',
    }).trim();
    expect(jobId).toMatch(/^\d+$/);

    const deadline = Date.now() + 45_000;
    while (readIfThere(join(jobDir, 'exit_code')) === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    const stdout = readIfThere(join(jobDir, 'stdout.log'));
    expect(readIfThere(join(jobDir, 'exit_code'))).toBe('0\n');
    expect(readIfThere(join(jobDir, 'model'))).toBe(hostile);
    expect(readIfThere(join(jobDir, 'gpus'))?.split(',')).toHaveLength(2);
    expect(readIfThere(join(jobDir, 'endpoint'))).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(stdout).toContain(`aiplane: starting test/probe as job ${jobId} on `);
  });
});

describe('repository recipes, cluster profile, with a stand-in apptainer', () => {
  const { catalogue } = loadRecipeCatalogue(join(__dirname, '..', '..', '..', 'recipes'));
  let jobDir: string;
  let binDir: string;

  beforeEach(() => {
    jobDir = mkdtempSync(join(tmpdir(), 'aiplane-cluster-'));
    binDir = join(jobDir, 'bin');
    mkdirSync(binDir);
    // Record what the real tools would have been given instead of running them.
    const fakes = {
      apptainer: `printf '%s\\0' "$@" >"$AIPLANE_JOB_DIR/apptainer.argv"\nenv >"$AIPLANE_JOB_DIR/apptainer.env"\n`,
      module: `printf '%s\\n' "$*" >>"$AIPLANE_JOB_DIR/modules"\n`,
    };
    for (const [name, body] of Object.entries(fakes)) {
      writeFileSync(join(binDir, name), `#!/bin/bash\n${body}`);
      chmodSync(join(binDir, name), 0o755);
    }
  });
  afterEach(() => {
    rmSync(jobDir, { recursive: true, force: true });
  });

  // What the worker sets after the user's values; the workloads read it from their environment.
  const API_KEY = 'k3y-from-the-worker_0123456789abcdefghijklmnopqrstu';

  function run(path: string, config: ServiceConfigInput | undefined, apiKey: string | null = API_KEY) {
    const recipe = catalogue.resolve(path)!;
    const effective = mergeConfig(recipe, config);
    const script = join(jobDir, 'job.sh');
    writeFileSync(
      script,
      renderBatchScript({ recipe, config: effective, profile: 'cluster', jobName: 'c', jobDir }),
    );
    let status = 0;
    let stderr = '';
    try {
      execFileSync('bash', [script], {
        env: {
          PATH: `${binDir}:${process.env.PATH ?? ''}`,
          AIPLANE_ENDPOINT_HOST: '127.0.0.1',
          ...effective.environment,
          ...(apiKey === null
            ? {}
            : { [recipe.kind === 'vllm' ? 'VLLM_API_KEY' : 'QDRANT__SERVICE__API_KEY']: apiKey }),
        },
        stdio: 'pipe',
      });
    } catch (error) {
      status = (error as { status: number }).status;
      stderr = String((error as { stderr: Buffer }).stderr);
    }
    const argv = readIfThere(join(jobDir, 'apptainer.argv'))?.split('\0').slice(0, -1);
    const env = readIfThere(join(jobDir, 'apptainer.env'));
    return {
      status,
      stderr,
      argv,
      modules: readIfThere(join(jobDir, 'modules')),
      env,
      vars: new Map(
        (env ?? '')
          .split('\n')
          .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      ),
    };
  }

  it('starts vLLM on all GPUs with the user values as single arguments', () => {
    const model = '--trust-remote-code $(id) "x"';
    const { status, argv, modules } = run('inference/vllm-single-node', {
      environment: { VLLM_MODEL: model },
    });
    const port = readIfThere(join(jobDir, 'endpoint'))?.split(':').pop();

    expect(status).toBe(0);
    expect(modules).toBe('load Apptainer\n');
    expect(argv).toEqual([
      'exec',
      '--nv',
      '--bind',
      jobDir,
      'docker://vllm/vllm-openai:v0.9.2',
      'vllm',
      'serve',
      `--model=${model}`,
      '--host=0.0.0.0',
      `--port=${port}`,
      '--tensor-parallel-size=4',
      '--max-model-len=4096',
      '--gpu-memory-utilization=0.9',
    ]);
  });

  it.each([
    ['inference/vllm-single-node', 'VLLM_API_KEY'],
    ['inference/vllm-replicas', 'VLLM_API_KEY'],
    ['vector-db/qdrant', 'QDRANT__SERVICE__API_KEY'],
  ])('%s hands the API key to the container through its environment only, never argv', (path, name) => {
    const { status, argv, vars } = run(path, undefined);
    expect(status).toBe(0);
    expect(vars.get(name)).toBe(API_KEY);
    expect(argv?.join(' ')).not.toContain(API_KEY);
  });

  it.each([
    ['inference/vllm-single-node', 'VLLM_API_KEY'],
    ['vector-db/qdrant', 'QDRANT__SERVICE__API_KEY'],
  ])('%s refuses to start a workload without an API key', (path, name) => {
    const { status, stderr, argv } = run(path, undefined, null);
    expect(status).not.toBe(0);
    expect(stderr).toContain(`${name}: is set by aiplane; refusing to start`);
    expect(argv).toBeUndefined();
  });

  it('leaves out --nv for a CPU-only request and binds HF_HOME when given', () => {
    const hfHome = join(jobDir, 'hf cache');
    const { status, argv } = run('inference/vllm-single-node', {
      environment: { VLLM_MODEL: 'gpt2', HF_HOME: hfHome },
      resources: { gpu: null },
    });
    expect(status).toBe(0);
    expect(argv?.slice(0, 5)).toEqual(['exec', '--bind', jobDir, '--bind', hfHome]);
    expect(argv).toContain('--tensor-parallel-size=1');
    expect(existsSync(hfHome)).toBe(true);
  });

  it.each(['relative/cache', '/a:/b', '/a,/b'])(
    'refuses HF_HOME=%j, which Apptainer would read as several binds',
    (hfHome) => {
      const { status, argv } = run('inference/vllm-single-node', { environment: { HF_HOME: hfHome } });
      expect(status).toBe(2);
      expect(argv).toBeUndefined();
    },
  );

  it('starts Qdrant with its data in the job directory and a gRPC port of its own', () => {
    const { status, argv, vars } = run('vector-db/qdrant', undefined);
    const httpPort = Number(readIfThere(join(jobDir, 'endpoint'))?.split(':').pop());

    expect(status).toBe(0);
    expect(argv).toEqual([
      'exec',
      '--bind',
      jobDir,
      '--writable-tmpfs',
      '--pwd',
      '/qdrant',
      'docker://qdrant/qdrant:v1.12.6',
      '/qdrant/qdrant',
    ]);
    expect(vars.get('QDRANT__SERVICE__HTTP_PORT')).toBe(String(httpPort));
    expect(Number(vars.get('QDRANT__SERVICE__GRPC_PORT'))).toBeGreaterThan(httpPort);
    expect(vars.get('QDRANT__STORAGE__STORAGE_PATH')).toBe(`${jobDir}/qdrant/storage`);
    expect(existsSync(join(jobDir, 'qdrant', 'snapshots'))).toBe(true);
  });
});
