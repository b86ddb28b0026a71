import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startStack, type RunningStack } from '@aiplane/stack';
import { loadBenchConfig } from './bench.config';
import { readMemory } from './process.memory';

/*
 * Does memory level off under sustained prompts? Sends `--n` prompts (say 15000) to one CPU-only
 * service through the orchestrator and prints the resident memory of the orchestrator and the
 * proxy every tenth of the way. A leak climbs; a garbage-collected heap saws up and down.
 * `npm run build && node dist/tools/bench/soak.bench.js --n 15000`
 */

const PORTS = { gateway: 18911, orchestrator: 18910 };

async function main(): Promise<void> {
  const config = loadBenchConfig(path.resolve(__dirname, '..', '..', '..'));
  const stateDir = mkdtempSync(path.join(tmpdir(), 'aiplane-soak-'));
  const runtimeDir = mkdtempSync(path.join(tmpdir(), 'aiplane-soak-run-'));
  let stack: RunningStack | undefined;
  try {
    stack = await startStack(
      {
        root: config.root,
        redisUrl: config.redisUrl,
        redisPrefix: `bench-soak-${String(Date.now())}`,
        scheduler: 'local',
        stateDir,
        runtimeDir,
        ports: PORTS,
        env: config.env,
      },
      () => undefined,
    );
    const headers = {
      authorization: `Bearer ${stack.orchestratorToken}`,
      'content-type': 'application/json',
    };
    const api = async (method: string, route: string, body?: unknown): Promise<Record<string, unknown>> => {
      const response = await fetch(`${stack?.orchestratorUrl ?? ''}/api${route}`, {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
      });
      return (await response.json()) as Record<string, unknown>;
    };
    const created = await api('POST', '/services/start', {
      recipe_name: 'inference/vllm-single-node',
      config: { resources: { gpu: 0, cpu: '1', memory: '1G' } },
    });
    const id = String(created.id);
    const deadline = Date.now() + 60_000;
    while ((await api('GET', `/services/${id}/status`)).status !== 'running') {
      if (Date.now() > deadline) throw new Error(`service ${id} did not become running within 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const apps = ['orchestrator', 'proxy'] as const;
    const sample = (done: number): void => {
      const memory = apps.map((app) => {
        const mib = readMemory(stack?.supervisor.pid(app))?.rssMiB;
        return `${app} ${mib === undefined ? '?' : mib.toFixed(0)} MiB`;
      });
      console.log(`${String(done).padStart(6)} prompts: ${memory.join(', ')}`);
    };
    sample(0);
    const every = Math.max(1, Math.floor(config.n / 10));
    for (let done = 1; done <= config.n; done += 1) {
      const answer = await api('POST', `/services/vllm/${id}/prompt`, { prompt: 'hi', max_tokens: 8 });
      if (answer.success !== true)
        throw new Error(`prompt ${String(done)} failed: ${JSON.stringify(answer)}`);
      if (done % every === 0) sample(done);
    }
    await api('POST', `/services/${id}/status`, { status: 'cancelled' });
  } finally {
    await stack?.stop();
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(runtimeDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
