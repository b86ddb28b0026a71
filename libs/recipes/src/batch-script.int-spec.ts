import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';

import { freeJobPort } from '@aiplane/testing';

import { renderBatchScript } from './batch-script.render';
import { mergeConfig, type ServiceConfigInput } from './config.merge';
import { loadRecipeCatalogue } from './recipe.catalogue';
import { parseRecipe, type Recipe } from './recipe.schema';

// A recipe whose "workload" reports what it received, so the tests see the job from the inside.
const PROBE_COMMAND = `printf '%s' "$VLLM_MODEL" >"$AIPLANE_JOB_DIR/model"
printf '%s' "$VLLM_PORT" >"$AIPLANE_JOB_DIR/port"
printf '%s' "\${CUDA_VISIBLE_DEVICES:-none}" >"$AIPLANE_JOB_DIR/gpus"
if [ -n "\${PROBE_SLEEP:-}" ]; then exec sleep "$PROBE_SLEEP"; fi
# Listens on its port for a moment with SO_REUSEADDR, as uvicorn does: on a busy machine the port may
# still be the local end of another connection (TIME_WAIT), which blocks a bind without it.
if [ -n "\${PROBE_LISTEN:-}" ]; then exec python3 -c 'import socket,sys,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(0.5)' "$VLLM_PORT"; fi
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

function listen(port: number, host = '127.0.0.1'): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, host, () => {
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

// This file's own port lock, unless a test names another: its jobs that never listen hold the lock
// for the whole listen wait, which must not delay other suites' jobs running beside it.
const RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'aiplane-job-run-'));
afterAll(() => {
  rmSync(RUNTIME_DIR, { recursive: true, force: true });
});

describe('rendered batch script, run by bash', () => {
  let jobDir: string;
  let basePort: number;
  let recipe: Recipe;

  beforeEach(async () => {
    jobDir = mkdtempSync(join(tmpdir(), 'aiplane-job-'));
    basePort = await freeJobPort();
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
        XDG_RUNTIME_DIR: RUNTIME_DIR,
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

  // Issue 10 item 4: a co-tenant listening on the node's address alone made a wildcard front fail
  // to bind while 127.0.0.1 looked free. With ss (every user's listeners) and without (each address).
  it.each(['with ss', 'without ss'])(
    "skips a port another process listens on at the node's address only (%s)",
    async (how) => {
      const address = Object.values(networkInterfaces())
        .flat()
        .find((candidate) => candidate?.family === 'IPv4' && !candidate.internal)?.address;
      if (address === undefined) throw new Error('this machine has no non-loopback IPv4 address');
      const extraEnv: Record<string, string> = { PROBE_LISTEN: '1' };
      if (how === 'without ss') {
        const bin = join(jobDir, 'bin');
        mkdirSync(bin);
        writeFileSync(join(bin, 'ss'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
        extraEnv.PATH = `${bin}:${process.env.PATH ?? ''}`;
      }
      const busy = await listen(basePort, address);
      try {
        const { code, stderr } = await start(undefined, extraEnv).done;
        // The job's own words when it fails, in the assertion's diff.
        expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
        expect(Number(file('port'))).toBeGreaterThan(basePort);
      } finally {
        await close(busy);
      }
    },
  );

  // Issue 10 item 12: the port lock was /tmp/aiplane-ports.lock, mode 0666, which any user could
  // hold (stalling every job) or replace. It is now the user's own, in a directory only they own.
  it("takes its port lock (0600) in the user's own runtime directory", async () => {
    const runtime = mkdtempSync(join(tmpdir(), 'aiplane-xdg-'));
    try {
      const { code } = await start(undefined, { XDG_RUNTIME_DIR: runtime, PROBE_LISTEN: '1' }).done;
      expect(code).toBe(0);
      expect(statSync(join(runtime, 'aiplane-ports.lock')).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(runtime, { recursive: true, force: true });
    }
  });

  it('takes no lock in a directory others can write, nor through a symlink, but in a 0700 one of its own', async () => {
    const open = mkdtempSync(join(tmpdir(), 'aiplane-xdg-open-'));
    chmodSync(open, 0o777);
    const target = mkdtempSync(join(tmpdir(), 'aiplane-xdg-target-'));
    const link = `${target}-link`;
    symlinkSync(target, link);
    try {
      for (const runtime of [open, link]) {
        const { code } = await start(undefined, { XDG_RUNTIME_DIR: runtime, PROBE_LISTEN: '1' }).done;
        expect(code).toBe(0);
      }
      expect(readdirSync(open)).toEqual([]);
      expect(readdirSync(target)).toEqual([]);
      const own = statSync(join(tmpdir(), `aiplane-${process.getuid?.() ?? 0}`));
      expect([own.isDirectory(), own.mode & 0o777, own.uid]).toEqual([true, 0o700, process.getuid?.()]);
    } finally {
      rmSync(link, { force: true });
      rmSync(open, { recursive: true, force: true });
      rmSync(target, { recursive: true, force: true });
    }
  });

  it("starts from the user's port when one is given", async () => {
    const wanted = await freeJobPort();
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
    const recipe = probeRecipe(await freeJobPort());
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
    // Record what the real tools would have been given instead of running them. The vLLM recipes
    // start two containers, the server (vllm serve) and its auth front (auth_front.py): each stand-in
    // records its call, then either exits with FAKE_<ROLE>_EXIT once the other has started (a
    // crash) or waits for SIGTERM, noting that it got one.
    const fakes = {
      apptainer: `case " $* " in
  *auth_front.py*) role=front other=server ;;
  *--uds=* | */qdrant/qdrant*) role=server other=front ;;
  *) role=server other= ;;
esac
exit_var="FAKE_$(printf %s "$role" | tr a-z A-Z)_EXIT"
# Ready for SIGTERM before the call is recorded, which is what the other one waits for.
trap 'touch "$AIPLANE_JOB_DIR/apptainer.$role.stopped"; kill "$sleeper" 2>/dev/null; exit 0' TERM
printf '%s\\0' "$@" >"$AIPLANE_JOB_DIR/apptainer.$role.argv"
env >"$AIPLANE_JOB_DIR/apptainer.$role.env"
[ -n "$other" ] || exit 0
if [ -n "\${!exit_var:-}" ]; then
  for _ in $(seq 100); do [ -e "$AIPLANE_JOB_DIR/apptainer.$other.argv" ] && break; sleep 0.05; done
  exit "\${!exit_var}"
fi
sleep 30 &
sleeper=$!
wait "$sleeper"
`,
      module: `printf '%s\\n' "$*" >>"$AIPLANE_JOB_DIR/modules"\n`,
    };
    // Qdrant's image has no Python: its front runs on the node's python3, recorded the same way.
    Object.assign(fakes, { python3: fakes.apptainer });
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

  const RUNTIME_DIR = join(__dirname, '..', '..', '..', 'recipes', 'runtime');
  // What the worker hands a group's node job besides: one key per replica.
  const replicaKey = (index: number) => `replica-key-${index}-0123456789abcdefghijklmnopqrstu`;

  function run(
    path: string,
    config: ServiceConfigInput | undefined,
    apiKey: string | null = API_KEY,
    extraEnv: Record<string, string> = { FAKE_FRONT_EXIT: '3' },
  ) {
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
          AIPLANE_RUNTIME_DIR: RUNTIME_DIR,
          ...effective.environment,
          ...(effective.gpu_per_replica === undefined
            ? {}
            : {
                AIPLANE_REPLICA_API_KEYS: Array.from(
                  { length: effective.resources.gpu / effective.gpu_per_replica },
                  (_, index) => replicaKey(index),
                ).join(','),
              }),
          ...(apiKey === null
            ? {}
            : { [recipe.kind === 'vllm' ? 'VLLM_API_KEY' : 'QDRANT__SERVICE__API_KEY']: apiKey }),
          ...extraEnv,
        },
        stdio: 'pipe',
      });
    } catch (error) {
      status = (error as { status: number }).status;
      stderr = String((error as { stderr: Buffer }).stderr);
    }
    const call = (role: 'server' | 'front') => {
      const env = readIfThere(join(jobDir, `apptainer.${role}.env`));
      return {
        argv: readIfThere(join(jobDir, `apptainer.${role}.argv`))
          ?.split('\0')
          .slice(0, -1),
        env,
        vars: new Map(
          (env ?? '')
            .split('\n')
            .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
        ),
        stopped: existsSync(join(jobDir, `apptainer.${role}.stopped`)),
      };
    };
    const server = call('server');
    return {
      status,
      stderr,
      argv: server.argv,
      modules: readIfThere(join(jobDir, 'modules')),
      env: server.env,
      vars: server.vars,
      server,
      front: call('front'),
    };
  }

  it('starts vLLM on all GPUs on a private Unix socket, with the user values as single arguments', () => {
    const model = '--trust-remote-code $(id) "x"';
    const { status, argv, modules, front } = run('inference/vllm-single-node', {
      environment: { VLLM_MODEL: model },
    });
    const port = readIfThere(join(jobDir, 'endpoint'))?.split(':').pop();
    const socketDir = argv?.[5] ?? '';

    // The stand-in front "crashed" with 3: the job reports it.
    expect(status).toBe(3);
    expect(modules).toBe('load Apptainer\n');
    expect(socketDir).toMatch(/^\/tmp\/aiplane\.[A-Za-z0-9]{6}$/);
    expect(argv).toEqual([
      'exec',
      '--nv',
      '--bind',
      jobDir,
      '--bind',
      socketDir,
      'docker://vllm/vllm-openai:v0.11.0',
      'vllm',
      'serve',
      `--uds=${socketDir}/server.sock`,
      `--model=${model}`,
      '--tensor-parallel-size=4',
      '--gpu-memory-utilization=0.9',
    ]);
    expect(front.argv).toEqual([
      'exec',
      '--bind',
      socketDir,
      '--bind',
      RUNTIME_DIR,
      'docker://vllm/vllm-openai:v0.11.0',
      'python3',
      `${RUNTIME_DIR}/auth_front.py`,
      `--listen=0.0.0.0:${port}`,
      `--upstream-unix=${socketDir}/server.sock`,
    ]);
  });

  it('stops vLLM when its front dies, and the front when vLLM dies; the job fails with that status and leaves no socket directory', () => {
    const frontDied = run('inference/vllm-single-node', undefined, API_KEY, { FAKE_FRONT_EXIT: '137' });
    expect(frontDied.status).toBe(137);
    expect(frontDied.server.stopped).toBe(true);
    expect(frontDied.stderr).toContain('aiplane: the auth front exited with status 137; stopping the job');
    expect(existsSync(frontDied.argv?.[5] ?? '/')).toBe(false);

    for (const name of readdirSync(jobDir).filter((file) => file.startsWith('apptainer.')))
      rmSync(join(jobDir, name));
    const serverDied = run('inference/vllm-single-node', undefined, API_KEY, { FAKE_SERVER_EXIT: '1' });
    expect(serverDied.status).toBe(1);
    expect(serverDied.front.stopped).toBe(true);
    expect(serverDied.stderr).toContain('aiplane: the server exited with status 1; stopping the job');
    expect(existsSync(serverDied.argv?.[5] ?? '/')).toBe(false);

    // A clean exit of either one still ends the service, so it is not reported as success.
    for (const name of readdirSync(jobDir).filter((file) => file.startsWith('apptainer.')))
      rmSync(join(jobDir, name));
    expect(run('inference/vllm-single-node', undefined, API_KEY, { FAKE_FRONT_EXIT: '0' }).status).toBe(1);
  });

  it('vLLM recipes refuse to start without the runtime directory the front lives in', () => {
    const { status, stderr, argv } = run('inference/vllm-single-node', undefined, API_KEY, {
      FAKE_FRONT_EXIT: '3',
      AIPLANE_RUNTIME_DIR: '',
    });
    expect(status).not.toBe(0);
    expect(stderr).toContain('AIPLANE_RUNTIME_DIR: is set by the worker');
    expect(argv).toBeUndefined();
  });

  it.each([
    ['inference/vllm-single-node', 'VLLM_API_KEY'],
    ['inference/vllm-replicas', 'VLLM_API_KEY'],
    ['vector-db/qdrant', 'QDRANT__SERVICE__API_KEY'],
  ])(
    '%s hands the API key to the server and its front through their environment only, never argv',
    (path, name) => {
      const { status, server, front } = run(path, undefined);
      expect(status).toBe(3);
      for (const call of [server, front]) {
        // A replica gets its own key, never the node job's.
        if (path.endsWith('replicas')) expect(call.vars.get(name)).toMatch(/^replica-key-[0-3]-/);
        else expect(call.vars.get(name)).toBe(API_KEY);
        expect(call.vars.has('AIPLANE_REPLICA_API_KEYS')).toBe(false);
        expect(call.argv?.join(' ')).not.toContain(API_KEY);
        expect(call.argv?.join(' ')).not.toContain('replica-key');
      }
    },
  );

  it('refuses to start a replica group without one key per replica', () => {
    const { status, stderr, argv } = run(
      'inference/vllm-replicas',
      { gpu: '2', gpu_per_replica: 1 },
      API_KEY,
      {
        FAKE_FRONT_EXIT: '3',
        AIPLANE_REPLICA_API_KEYS: 'only-one',
      },
    );
    expect(status).toBe(2);
    expect(stderr).toContain('AIPLANE_REPLICA_API_KEYS does not hold one key per replica');
    expect(argv).toBeUndefined();
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

  it('leaves out --nv for a CPU-only request, binds HF_HOME when given and passes a max_model_len the user set', () => {
    const hfHome = join(jobDir, 'hf cache');
    const { status, argv } = run('inference/vllm-single-node', {
      environment: { VLLM_MODEL: 'gpt2', HF_HOME: hfHome },
      resources: { gpu: null },
      max_model_len: 1000,
    });
    expect(status).toBe(3);
    expect(argv?.slice(0, 5)).toEqual(['exec', '--bind', jobDir, '--bind', hfHome]);
    expect(argv).toContain('--tensor-parallel-size=1');
    expect(argv?.at(-1)).toBe('--max-model-len=1000');
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

  it('starts Qdrant on loopback behind auth_front.py, with its data in the job directory and a gRPC port of its own', () => {
    const { status, argv, vars, front } = run('vector-db/qdrant', undefined);
    const httpPort = Number(readIfThere(join(jobDir, 'endpoint'))?.split(':').pop());
    const innerPort = Number(vars.get('QDRANT__SERVICE__HTTP_PORT'));

    expect(status).toBe(3);
    expect(front.argv).toEqual([
      `${RUNTIME_DIR}/auth_front.py`,
      '--key-env=QDRANT__SERVICE__API_KEY',
      `--listen=0.0.0.0:${httpPort}`,
      `--upstream-tcp=127.0.0.1:${innerPort}`,
    ]);
    expect(vars.get('QDRANT__SERVICE__HOST')).toBe('127.0.0.1');
    expect(innerPort).toBeGreaterThan(httpPort);
    expect(argv).toEqual([
      'exec',
      '--bind',
      jobDir,
      '--writable-tmpfs',
      '--cwd',
      '/qdrant',
      'docker://qdrant/qdrant:v1.18.2',
      '/qdrant/qdrant',
    ]);
    expect(Number(vars.get('QDRANT__SERVICE__GRPC_PORT'))).toBeGreaterThan(innerPort);
    expect(vars.get('QDRANT__STORAGE__STORAGE_PATH')).toBe(`${jobDir}/qdrant/storage`);
    expect(existsSync(join(jobDir, 'qdrant', 'snapshots'))).toBe(true);
  });

  it('binds Qdrant storage the user put outside the job directory, which the container would not see otherwise', () => {
    const storage = mkdtempSync(join(tmpdir(), 'aiplane-qdrant-storage-'));
    try {
      const { argv } = run('vector-db/qdrant', { environment: { QDRANT__STORAGE__STORAGE_PATH: storage } });
      expect(argv?.slice(0, 6)).toEqual(['exec', '--bind', jobDir, '--bind', storage, '--writable-tmpfs']);
    } finally {
      rmSync(storage, { recursive: true, force: true });
    }
  });
});

describe('repository vLLM recipe, local profile: the simulator behind auth_front.py, supervised', () => {
  const ROOT = join(__dirname, '..', '..', '..');
  const KEY = 'local-k3y_0123456789abcdefghijklmnopqrstuvwxyz';
  const { catalogue } = loadRecipeCatalogue(join(ROOT, 'recipes'));
  let jobDir: string;
  let socketRoot: string;

  beforeEach(() => {
    if (!existsSync(join(ROOT, 'dist', 'apps', 'vllm-sim', 'src', 'main.js')))
      throw new Error('dist/apps/vllm-sim is missing: run "npm run build" first');
    jobDir = mkdtempSync(join(tmpdir(), 'aiplane-local-'));
    // The job's TMPDIR, so the socket directory it makes there can be watched.
    socketRoot = mkdtempSync('/tmp/aiplane-int-');
  });
  afterEach(() => {
    rmSync(jobDir, { recursive: true, force: true });
    rmSync(socketRoot, { recursive: true, force: true });
  });

  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The processes below `pid` with the given command name. */
  function descendantsNamed(pid: number, comm: string): number[] {
    const children = new Map<number, { ppid: number; comm: string }>();
    for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        children.set(Number(entry), {
          comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
          ppid: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]),
        });
      } catch {
        // Gone meanwhile.
      }
    }
    const below = (parent: number): number[] =>
      [...children.entries()]
        .filter(([, info]) => info.ppid === parent)
        .flatMap(([child]) => [child, ...below(child)]);
    return below(pid).filter((child) => children.get(child)?.comm === comm);
  }

  async function get(port: number, path: string, key?: string, timeoutMs = 5_000): Promise<number> {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer();
    return response.status;
  }

  /** Starts the job as the local runner does and waits until the service answers through its front. */
  async function startJob() {
    const recipe = catalogue.resolve('inference/vllm-single-node')!;
    const port = await freeJobPort();
    const effective = mergeConfig(recipe, {
      environment: { VLLM_HOST: '127.0.0.1', VLLM_PORT: String(port) },
    });
    const script = join(jobDir, 'job.sh');
    writeFileSync(
      script,
      renderBatchScript({ recipe, config: effective, profile: 'local', jobName: 'local', jobDir }),
    );
    const child = spawn('bash', [script], {
      env: {
        PATH: process.env.PATH,
        XDG_RUNTIME_DIR: RUNTIME_DIR,
        AIPLANE_ENDPOINT_HOST: '127.0.0.1',
        AIPLANE_SIMULATORS_DIR: join(ROOT, 'dist', 'apps'),
        AIPLANE_RUNTIME_DIR: join(ROOT, 'recipes', 'runtime'),
        TMPDIR: socketRoot,
        ...effective.environment,
        VLLM_API_KEY: KEY,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const done = new Promise<number | null>((r) => {
      child.on('close', (code) => {
        r(code);
      });
    });
    await waitFor('the service answers through its front', async () => {
      if (child.exitCode !== null) throw new Error(`the job ended early: ${stderr}`);
      return (await get(port, '/v1/models', KEY).catch(() => 0)) === 200;
    });
    const [front] = descendantsNamed(child.pid!, 'python3');
    const [sim] = descendantsNamed(child.pid!, 'node');
    if (front === undefined || sim === undefined) throw new Error('front or simulator not found');
    const socketDirs = readdirSync(socketRoot);
    expect(socketDirs).toHaveLength(1);
    expect(statSync(join(socketRoot, socketDirs[0]!)).mode & 0o777).toBe(0o700);
    return { child, done, port, front, sim, stderr: () => stderr };
  }

  it('lets no path through without the key; a killed front takes the simulator down and fails the job', async () => {
    const job = await startJob();
    for (const path of ['/invocations', '/tokenize', '/metrics', '/health', '/v1/models']) {
      expect({ path, status: await get(job.port, path) }).toEqual({ path, status: 401 });
    }
    expect(await get(job.port, '/health', KEY)).toBe(200);

    process.kill(job.front, 'SIGKILL');
    expect(await job.done).toBe(137);
    expect(readIfThere(join(jobDir, 'exit_code'))).toBe('137\n');
    expect(alive(job.sim)).toBe(false);
    expect(readdirSync(socketRoot)).toEqual([]);
    expect(job.stderr()).toContain('aiplane: the auth front exited with status 137');
    expect(job.stderr()).not.toContain(KEY);
  });

  it('a killed simulator takes the front down: the port is released and the job fails', async () => {
    const job = await startJob();
    process.kill(job.sim, 'SIGKILL');
    expect(await job.done).toBe(137);
    expect(alive(job.front)).toBe(false);
    expect(readdirSync(socketRoot)).toEqual([]);
    await expect(get(job.port, '/health', KEY)).rejects.toThrow();
  });

  it('a stopped front hangs the service without ending the job; it resumes, and SIGTERM stops both', async () => {
    const job = await startJob();
    process.kill(job.front, 'SIGSTOP');
    try {
      await expect(get(job.port, '/v1/models', KEY, 1_000)).rejects.toThrow();
      expect(job.child.exitCode).toBeNull();
      expect(readIfThere(join(jobDir, 'exit_code'))).toBeUndefined();
    } finally {
      process.kill(job.front, 'SIGCONT');
    }
    expect(await get(job.port, '/v1/models', KEY)).toBe(200);

    job.child.kill('SIGTERM');
    expect(await job.done).toBe(143);
    await waitFor('both processes ended', () => !alive(job.front) && !alive(job.sim), 5_000);
    expect(readdirSync(socketRoot)).toEqual([]);
  });
});

describe('rendered batch scripts starting together on one node', () => {
  it('never give two jobs the same port, however close together they start', async () => {
    const basePort = await freeJobPort();
    // A workload that binds its port a moment after starting, as every real server does (and with
    // SO_REUSEADDR, as they do: see PROBE_COMMAND).
    const recipe = parseRecipe(
      `name: slow-bind
description: binds after a pause
version: '1.0.0'
kind: vllm
resources: { nodes: 1, cpu: 1, memory: 100M, time_limit: 5, gpu: 0 }
ports: { base: ${basePort} }
readiness: { path: /health }
environment: { VLLM_MODEL: m }
runtime:
  cluster:
    image: docker://example/unused:1
    command: |
      exit 1
  local:
    command: |
      sleep 0.3
      exec python3 -c 'import socket,sys,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(30)' "$VLLM_PORT"
`,
      'test/slow-bind.yaml',
    );
    const dirs = Array.from({ length: 4 }, () => mkdtempSync(join(tmpdir(), 'aiplane-lock-')));
    const jobs = dirs.map((jobDir) => {
      writeFileSync(
        join(jobDir, 'job.sh'),
        renderBatchScript({
          recipe,
          config: mergeConfig(recipe, undefined),
          profile: 'local',
          jobName: 'lock',
          jobDir,
        }),
      );
      const child = spawn('bash', [join(jobDir, 'job.sh')], {
        env: { PATH: process.env.PATH, XDG_RUNTIME_DIR: RUNTIME_DIR, AIPLANE_ENDPOINT_HOST: '127.0.0.1' },
        stdio: 'ignore',
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      return { child, exited, jobDir };
    });
    try {
      const endpoints: string[] = [];
      for (const { jobDir, exited } of jobs) {
        const deadline = Date.now() + 20_000;
        let endpoint = readIfThere(join(jobDir, 'endpoint'));
        while (endpoint === undefined && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 50));
          endpoint = readIfThere(join(jobDir, 'endpoint'));
        }
        expect(endpoint).toBeDefined();
        endpoints.push(endpoint ?? '');
        // A job that lost a port race would have died on EADDRINUSE.
        const stillRunning = new Promise((resolve) => {
          setTimeout(() => {
            resolve('running');
          }, 200);
        });
        expect(await Promise.race([exited, stillRunning])).toBe('running');
      }
      expect(new Set(endpoints).size).toBe(jobs.length);
    } finally {
      for (const { child } of jobs) child.kill('SIGTERM');
      await Promise.all(jobs.map(({ exited }) => exited));
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    }
  });
});
