import * as path from 'node:path';
import type { ServiceConfig } from '@aiplane/contracts';
import { loadRecipeCatalogue, mergeConfig } from '@aiplane/recipes';
import { createLogger, UnavailableError } from '@aiplane/server-kit';
import { ROOT } from '@aiplane/testing';
import type { HfHubClient } from '../models/hf-hub.client';
import type { HubModel } from '../models/hf-hub.types';
import { loadOrchestratorConfig } from '../orchestrator.config';
import { FitSettingError, ModelDoesNotFitError } from './fit.errors';
import { FitService } from './fit.service';

// The service's own part: which model ids reach the Hub, how often, and what a failure becomes.
// The arithmetic is fit.rules.spec.ts; the real HTTP Hub is fit.int-spec.ts.
const { catalogue } = loadRecipeCatalogue(path.join(ROOT, 'recipes'));
const SINGLE = catalogue.resolve('inference/vllm-single-node');
if (!SINGLE) throw new Error('no vllm-single-node recipe');
const recipe = SINGLE;

// 7.6 G parameters in BF16: 14.2 GB.
const QWEN_7B: HubModel = {
  id: 'Qwen/Qwen2.5-7B-Instruct',
  safetensors: { parameters: { BF16: 7_615_616_512 } },
};

function setup(answer: (repoId: string) => Promise<HubModel | null>, env: Record<string, string> = {}) {
  const calls: { repoId: string; timeoutMs: number | undefined }[] = [];
  const hub = {
    modelInfo: (repoId: string, timeoutMs?: number) => {
      calls.push({ repoId, timeoutMs });
      return answer(repoId);
    },
  } as unknown as HfHubClient;
  const config = loadOrchestratorConfig({
    ORCHESTRATOR_TOKEN: 'a-test-token-of-at-least-32-bytes!!',
    FIT_HUB_TIMEOUT_MS: '1234',
    ...env,
  });
  const fit = new FitService(hub, config, createLogger('orchestrator', 'silent'));
  const check = (config: ServiceConfig) => fit.check(recipe, config, mergeConfig(recipe, config));
  return { calls, check };
}

describe('FitService', () => {
  it('asks the Hub once for a burst of creates of one model, bounded by FIT_HUB_TIMEOUT_MS', async () => {
    const { calls, check } = setup(() => Promise.resolve(QWEN_7B));
    const config = { model: 'Qwen/Qwen2.5-7B-Instruct', resources: { gpu: 1, partition: 'gpu' } };
    const answers = await Promise.all(Array.from({ length: 20 }, () => check(config)));
    expect(answers).toEqual(Array.from({ length: 20 }, () => []));
    await check(config);
    expect(calls).toEqual([{ repoId: 'Qwen/Qwen2.5-7B-Instruct', timeoutMs: 1234 }]);
  });

  it('refuses with a typed 400 carrying the field and the numbers', async () => {
    const config = { model: 'Qwen/Qwen2.5-7B-Instruct', resources: { gpu: 1, partition: 'small' } };
    // Without FIT_GPU_MEMORY_GB naming `small`, 80 GB is assumed: it fits. Named, it does not.
    expect(await setup(() => Promise.resolve(QWEN_7B)).check(config)).toEqual([]);
    const { check } = setup(() => Promise.resolve(QWEN_7B), { FIT_GPU_MEMORY_GB: 'small=12' });
    const error = await check(config).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelDoesNotFitError);
    expect((error as ModelDoesNotFitError).status).toBe(400);
    expect((error as ModelDoesNotFitError).details).toMatchObject({
      field: 'resources.gpu',
      fit: {
        weights_gb: 14.19,
        gpus: 1,
        gpu_memory_gb: 12,
        partition: 'small',
        usable_gb: 10.8,
        min_gpus: 2,
      },
    });
  });

  it('never sends a local path to the Hub, and warns that its size was not checked', async () => {
    const { calls, check } = setup(() => Promise.resolve(QWEN_7B));
    expect(await check({ model: '/scratch/models/llama', gpu: 1 })).toEqual([
      'The model (VLLM_MODEL): its size is unknown, so whether it fits 1 GPU was not checked (VLLM_MODEL is not a Hugging Face model id; a path on the cluster is not sized)',
    ]);
    expect(calls).toEqual([]);
  });

  it('passes with a warning when the Hub does not know the model, and remembers that answer', async () => {
    const { calls, check } = setup(() => Promise.resolve(null));
    const [warning] = await check({ model: 'someone/private', gpu: 2 });
    expect(warning).toMatch(/^Model someone\/private: its size is unknown, .*does not show someone\/private/);
    await check({ model: 'someone/private', gpu: 2 });
    expect(calls).toHaveLength(1);
  });

  it('passes with a warning when the Hub fails, and leaves it alone for a while rather than wait again', async () => {
    const { calls, check } = setup(() =>
      Promise.reject(new UnavailableError('The Hugging Face Hub is unreachable: no answer within 1234 ms')),
    );
    const [first] = await check({ model: 'org/a', gpu: 1 });
    expect(first).toContain('(The Hugging Face Hub is unreachable: no answer within 1234 ms)');
    const [second] = await check({ model: 'org/b', gpu: 1 });
    expect(second).toContain('(The Hugging Face Hub is unreachable: no answer within 1234 ms)');
    expect(calls.map(({ repoId }) => repoId)).toEqual(['org/a']);
  });

  it('asks the Hub again 30 s after a failure, however many creates came in between', async () => {
    jest.useFakeTimers({ now: Date.parse('2026-12-03T12:00:00Z') });
    try {
      const { calls, check } = setup(() =>
        Promise.reject(new UnavailableError('The Hugging Face Hub is unreachable')),
      );
      await check({ model: 'org/a', gpu: 1 });
      for (let second = 0; second < 29; second += 1) {
        jest.advanceTimersByTime(1_000);
        await check({ model: 'org/a', gpu: 1 });
      }
      expect(calls).toHaveLength(1);
      jest.advanceTimersByTime(2_000);
      await check({ model: 'org/a', gpu: 1 });
      expect(calls).toHaveLength(2);
    } finally {
      jest.useRealTimers();
    }
  });

  it('does not ask about CPU-only services, and refuses a gpu_memory_utilization vLLM would refuse', async () => {
    const { calls, check } = setup(() => Promise.resolve(QWEN_7B));
    expect(await check({ model: 'Qwen/Qwen2.5-7B-Instruct', gpu: null })).toEqual([]);
    expect(calls).toEqual([]);
    await expect(check({ gpu_memory_utilization: 0 })).rejects.toBeInstanceOf(FitSettingError);
  });
});
