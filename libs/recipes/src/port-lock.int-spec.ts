import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';

import { freeJobPort } from '@aiplane/testing';

import { renderBatchScript } from './batch-script.render';
import { mergeConfig } from './config.merge';
import { parseRecipe } from './recipe.schema';

// Issue 10 items 4 and 12, attacked by a second Unix user on the same machine: the job's port lock is
// out of their reach, and a port they listen on at the node's address is never chosen.
const USER_B = `aiplb${process.pid % 100_000}`;
const isRoot = process.getuid?.() === 0;

function probeRecipe(basePort: number) {
  return parseRecipe(
    `name: probe
description: test workload
version: '1.0.0'
kind: vllm
resources: { nodes: 1, cpu: 1, memory: 100M, time_limit: 5, gpu: 0 }
ports: { base: ${basePort} }
readiness: { path: /health }
runtime:
  cluster:
    image: docker://example/unused:1
    command: 'true'
  local:
    command: |
      printf '%s' "$VLLM_PORT" >"$AIPLANE_JOB_DIR/port"
      exec python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(0.5)' "$VLLM_PORT"
`,
    'test/probe.yaml',
  );
}

/**
 * A port free on every interface, below the ephemeral range (32768+): a port the system hands out
 * for listen(0) may next be the local end of some outgoing connection on a busy machine, and then
 * the workload's bind fails although nothing listens there, which is not what these tests are about.
 */

/** A process run as user B in a group of its own, so that it and its children can be stopped by id. */
function spawnAsB(argv: string[], stdout: 'ignore' | 'pipe' = 'ignore') {
  const child = spawn('runuser', ['-u', USER_B, '--', ...argv], {
    stdio: ['ignore', stdout, 'ignore'],
    detached: true,
  });
  const exited = once(child, 'exit');
  return {
    child,
    stop: async () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
      await exited;
    },
  };
}

/** A shell command run as user B; its exit status and stderr. */
function asB(command: string): { status: number | null; stderr: string } {
  const result = spawnSync('runuser', ['-u', USER_B, '--', 'bash', '-c', command], { encoding: 'utf8' });
  return { status: result.status, stderr: result.stderr };
}

(isRoot ? describe : describe.skip)('the job script against a second Unix user', () => {
  let jobDir: string;

  beforeAll(() => {
    execFileSync('useradd', ['--no-create-home', '--shell', '/bin/bash', USER_B]);
  });
  afterAll(() => {
    execFileSync('userdel', [USER_B]);
  });
  beforeEach(() => {
    jobDir = mkdtempSync(join(tmpdir(), 'aiplane-lock-'));
  });
  afterEach(() => {
    rmSync(jobDir, { recursive: true, force: true });
  });

  async function runJob(basePort: number): Promise<number> {
    const recipe = probeRecipe(basePort);
    const script = join(jobDir, 'job.sh');
    writeFileSync(
      script,
      renderBatchScript({
        recipe,
        config: mergeConfig(recipe, undefined),
        profile: 'local',
        jobName: 'lock',
        jobDir,
      }),
    );
    const child = spawn('bash', [script], {
      env: { PATH: process.env.PATH, AIPLANE_ENDPOINT_HOST: '127.0.0.1' },
      stdio: 'ignore',
    });
    const [code] = (await once(child, 'close')) as [number | null];
    expect(code).toBe(0);
    return Number(readFileSync(join(jobDir, 'port'), 'utf8'));
  }

  it('user B can neither open, hold, replace nor plant a symlink for the port lock', async () => {
    await runJob(await freeJobPort());
    const dir = join('/tmp', `aiplane-${process.getuid?.() ?? 0}`);
    const lock = join(dir, 'aiplane-ports.lock');
    expect(existsSync(lock)).toBe(true);
    for (const attack of [
      `exec 8>>'${lock}' && flock -n 8`,
      `exec 8<'${lock}' && flock -n 8`,
      `rm -f '${lock}'`,
      `ln -sf /etc/passwd '${lock}'`,
      `mv '${dir}' '${dir}.gone'`,
    ])
      expect({ attack, status: asB(attack).status }).not.toEqual({ attack, status: 0 });
    // The old lock, /tmp/aiplane-ports.lock (0666, left by older jobs), is not used: B holding it
    // delays nothing now. B does not create it where it is missing.
    if (!existsSync('/tmp/aiplane-ports.lock')) return;
    const held = spawnAsB(['flock', '/tmp/aiplane-ports.lock', 'sleep', '30']);
    try {
      const started = Date.now();
      await runJob(await freeJobPort());
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await held.stop();
    }
  });

  it("skips a port user B listens on at the node's address only", async () => {
    const address = Object.values(networkInterfaces())
      .flat()
      .find((candidate) => candidate?.family === 'IPv4' && !candidate.internal)?.address;
    if (address === undefined) throw new Error('this machine has no non-loopback IPv4 address');
    const base = await freeJobPort();
    const squatter = spawnAsB(
      [
        'python3',
        '-c',
        'import socket,sys,time; s=socket.socket(); s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(); print("up", flush=True); time.sleep(30)',
        address,
        String(base),
      ],
      'pipe',
    );
    try {
      await once(squatter.child.stdout!, 'data');
      expect(await runJob(base)).toBeGreaterThan(base);
    } finally {
      await squatter.stop();
    }
  });
});
