import * as path from 'node:path';
import type { ServiceConfig } from '@aiplane/contracts';
import { loadRecipeCatalogue, mergeConfig, type Recipe } from '@aiplane/recipes';
import { ROOT } from '@aiplane/testing';
import type { HubModel } from '../models/hf-hub.types';
import {
  assessFit,
  fitPlanOf,
  weightsOf,
  type FitLimits,
  type FitPlan,
  type WeightsEstimate,
} from './fit.rules';

const GIB = 2 ** 30;
const { catalogue } = loadRecipeCatalogue(path.join(ROOT, 'recipes'));

function recipe(name: string): Recipe {
  const found = catalogue.resolve(name);
  if (!found) throw new Error(`no recipe ${name}`);
  return found;
}

function planOf(
  name: string,
  config: ServiceConfig,
  defaultPartition?: string,
): ReturnType<typeof fitPlanOf> {
  const chosen = recipe(name);
  return fitPlanOf(chosen, config, mergeConfig(chosen, config), defaultPartition);
}

function plan(name: string, config: ServiceConfig, defaultPartition?: string): FitPlan {
  const outcome = planOf(name, config, defaultPartition);
  if (outcome.kind !== 'plan') throw new Error(`expected a plan, got ${JSON.stringify(outcome)}`);
  return outcome.plan;
}

const LIMITS: FitLimits = {
  gpuMemoryGb: new Map([
    ['gpu', 40],
    ['small', 16],
  ]),
  defaultGpuMemoryGb: 80,
  kvHeadroomFraction: 0.2,
  gpuOverheadGb: 1,
};

const weightsGb = (gb: number): WeightsEstimate => ({
  kind: 'known',
  bytes: gb * GIB,
  source: 'safetensors parameters',
});

const hubModel = (fields: Partial<HubModel>): HubModel => ({ id: 'org/model', ...fields });

describe('weightsOf: a Hub model info → the bytes vLLM loads', () => {
  it('counts parameters × dtype bytes from safetensors.parameters, float32 served in 16 bits', () => {
    expect(
      weightsOf(hubModel({ safetensors: { parameters: { BF16: 7_615_616_512 }, total: 7_615_616_512 } })),
    ).toEqual({ kind: 'known', bytes: 15_231_233_024, source: 'safetensors parameters' });
    expect(weightsOf(hubModel({ safetensors: { parameters: { F32: 100 } } }))).toMatchObject({ bytes: 200 });
    // A GPTQ checkpoint: packed int32 weights and half-precision scales.
    expect(weightsOf(hubModel({ safetensors: { parameters: { I32: 1000, F16: 10 } } }))).toMatchObject({
      bytes: 4020,
    });
  });

  it('falls back to the *.safetensors file sizes when a dtype is unknown or the parameters are missing', () => {
    const siblings = [
      { rfilename: 'model-00001-of-00002.safetensors', lfs: { size: 3 * GIB } },
      { rfilename: 'model-00002-of-00002.safetensors', size: GIB },
      { rfilename: 'pytorch_model.bin', size: 99 * GIB },
    ];
    expect(weightsOf(hubModel({ siblings }))).toEqual({
      kind: 'known',
      bytes: 4 * GIB,
      source: 'safetensors files',
    });
    expect(weightsOf(hubModel({ siblings, safetensors: { parameters: { F4_NEW: 10 } } }))).toMatchObject({
      bytes: 4 * GIB,
    });
  });

  it('is unknown without either (a .bin-only or GGUF repository, or sizes not listed)', () => {
    expect(weightsOf(hubModel({ siblings: [{ rfilename: 'model.gguf', size: GIB }] }))).toEqual({
      kind: 'unknown',
      reason: 'the Hugging Face Hub lists no safetensors weights for org/model',
    });
    expect(weightsOf(hubModel({ siblings: [{ rfilename: 'model.safetensors' }] })).kind).toBe('unknown');
  });
});

describe('fitPlanOf: what one vLLM process is given', () => {
  it('checks a single service over all its GPUs, and a group per replica (gpu_per_replica)', () => {
    expect(plan('inference/vllm-single-node', { resources: { gpu: 4 }, model: 'org/m' })).toEqual({
      model: 'org/m',
      partition: undefined,
      replicaGpus: 4,
      modelGpus: 4,
      grouped: false,
      utilization: 0.9,
      gpuField: 'resources.gpu',
    });
    expect(plan('inference/vllm-replicas', { resources: { gpu: 4 }, gpu_per_replica: 2 })).toMatchObject({
      replicaGpus: 2,
      modelGpus: 2,
      grouped: true,
      gpuField: 'gpu_per_replica',
    });
  });

  it('splits the model over VLLM_TENSOR_PARALLEL_SIZE GPUs when it asks for fewer', () => {
    expect(
      plan('inference/vllm-single-node', {
        resources: { gpu: 4 },
        environment: { VLLM_TENSOR_PARALLEL_SIZE: '1' },
      }),
    ).toMatchObject({ replicaGpus: 4, modelGpus: 1, gpuField: 'environment.VLLM_TENSOR_PARALLEL_SIZE' });
  });

  it("takes the request's partition, else the configured default", () => {
    expect(plan('inference/vllm-single-node', { resources: { partition: 'small' } }, 'gpu').partition).toBe(
      'small',
    );
    expect(plan('inference/vllm-single-node', {}, 'gpu').partition).toBe('gpu');
  });

  it('honours gpu_memory_utilization (either spelling) and refuses one vLLM would refuse, naming the field', () => {
    expect(plan('inference/vllm-single-node', { gpu_memory_utilization: 0.5 }).utilization).toBe(0.5);
    expect(
      plan('inference/vllm-single-node', { environment: { VLLM_GPU_MEMORY_UTILIZATION: '0.75' } })
        .utilization,
    ).toBe(0.75);
    expect(planOf('inference/vllm-single-node', { gpu_memory_utilization: 1.5 })).toEqual({
      kind: 'invalid',
      field: 'gpu_memory_utilization',
      message:
        "gpu_memory_utilization must be a number greater than 0 and at most 1 (the fraction of each GPU's memory vLLM may use)",
    });
    expect(
      planOf('inference/vllm-single-node', { environment: { VLLM_GPU_MEMORY_UTILIZATION: 'lots' } }),
    ).toMatchObject({ kind: 'invalid', field: 'environment.VLLM_GPU_MEMORY_UTILIZATION' });
  });

  it('skips CPU-only services (gpu null or 0) and non-vLLM recipes', () => {
    expect(planOf('inference/vllm-single-node', { resources: { gpu: null } })).toEqual({ kind: 'skip' });
    expect(planOf('inference/vllm-single-node', { gpu: '0' })).toEqual({ kind: 'skip' });
    expect(planOf('vector-db/qdrant', { resources: { gpu: 1 } })).toEqual({ kind: 'skip' });
  });
});

describe('assessFit: weights and headroom against gpus × per-GPU memory × utilization', () => {
  const onGpu = (gpus: number, extra: ServiceConfig = {}): FitPlan =>
    plan('inference/vllm-single-node', {
      resources: { gpu: gpus, partition: 'gpu' },
      model: 'org/m',
      ...extra,
    });

  it('fits: weights plus headroom within the usable memory, no warning', () => {
    // 1 × 40 GB × 0.9 = 36 GB usable; 14 GB + 2.8 + 1 = 17.8 GB needed.
    const verdict = assessFit(onGpu(1), weightsGb(14), LIMITS);
    expect(verdict).toMatchObject({
      kind: 'fits',
      numbers: { weights_gb: 14, gpus: 1, gpu_memory_gb: 40, usable_gb: 36, headroom_gb: 3.8, min_gpus: 1 },
    });
  });

  it('fits only without enough headroom: accepted with a warning that gives the numbers', () => {
    // 32 GB + 6.4 + 1 = 39.4 GB > 36 GB usable, but 32 GB ≤ 36 GB.
    const verdict = assessFit(onGpu(1), weightsGb(32), LIMITS);
    expect(verdict.kind).toBe('tight');
    if (verdict.kind !== 'tight') return;
    expect(verdict.warning).toBe(
      'Model org/m fits only without enough KV-cache headroom: the service has 1 GPU (1 GPU × 40 GB on partition gpu = 40.0 GB), of which vLLM may use 36.0 GB (gpu_memory_utilization 0.9), and the weights (32.0 GB) plus headroom (7.4 GB: 20% of the weights for the KV cache and 1 GB per GPU) need 39.4 GB. vLLM may refuse to start or serve only short contexts; more GPUs (resources.gpu) or a smaller max_model_len help.',
    );
  });

  it('does not fit: the weights alone exceed the usable memory; the message names the numbers and the fix', () => {
    const verdict = assessFit(onGpu(1), weightsGb(140), LIMITS);
    expect(verdict.kind).toBe('too-big');
    if (verdict.kind !== 'too-big') return;
    expect(verdict.message).toBe(
      'Model org/m does not fit: its weights alone are 140.0 GB, but the service has 1 GPU: 1 GPU × 40 GB on partition gpu = 40.0 GB, of which vLLM may use 36.0 GB (gpu_memory_utilization 0.9). Nothing was submitted; give it at least 4 GPUs (resources.gpu), or choose a smaller or quantized model.',
    );
    expect(verdict.numbers).toEqual({
      model: 'org/m',
      weights_gb: 140,
      gpus: 1,
      gpu_memory_gb: 40,
      partition: 'gpu',
      partition_in_table: true,
      gpu_memory_utilization: 0.9,
      usable_gb: 36,
      headroom_gb: 29,
      min_gpus: 4,
    });
    // The same weights fit on 4 GPUs (144 GB usable), if only just.
    expect(assessFit(onGpu(4), weightsGb(140), LIMITS).kind).toBe('tight');
  });

  it('honours gpu_memory_utilization: what fits at 0.9 does not at 0.5', () => {
    expect(assessFit(onGpu(1), weightsGb(30), LIMITS).kind).toBe('tight');
    const verdict = assessFit(onGpu(1, { gpu_memory_utilization: 0.5 }), weightsGb(30), LIMITS);
    expect(verdict).toMatchObject({ kind: 'too-big', numbers: { usable_gb: 20, min_gpus: 2 } });
  });

  it('reads the per-partition table, and the default for a partition it does not name or none', () => {
    const small = plan('inference/vllm-single-node', { resources: { gpu: 1, partition: 'small' } });
    expect(assessFit(small, weightsGb(15), LIMITS)).toMatchObject({
      kind: 'too-big',
      numbers: { gpu_memory_gb: 16, partition: 'small', partition_in_table: true },
    });
    const other = plan('inference/vllm-single-node', { resources: { gpu: 1, partition: 'fat' } });
    const onOther = assessFit(other, weightsGb(100), LIMITS);
    expect(onOther).toMatchObject({
      kind: 'too-big',
      numbers: { gpu_memory_gb: 80, partition: 'fat', partition_in_table: false },
    });
    if (onOther.kind === 'too-big') {
      expect(onOther.message).toContain('on partition fat (not in FIT_GPU_MEMORY_GB; 80 GB per GPU assumed)');
    }
    const none = assessFit(plan('inference/vllm-single-node', { gpu: 1 }), weightsGb(100), LIMITS);
    expect(none).toMatchObject({ kind: 'too-big', numbers: { partition: null, gpu_memory_gb: 80 } });
    // A partition named like an Object.prototype key is just an unknown partition.
    const odd = plan('inference/vllm-single-node', { resources: { gpu: 1, partition: 'constructor' } });
    expect(assessFit(odd, weightsGb(1), LIMITS)).toMatchObject({
      kind: 'fits',
      numbers: { gpu_memory_gb: 80 },
    });
  });

  it('checks a group per replica: 4 GPUs of 1 per replica hold no more than one GPU', () => {
    const group = (perReplica: number): FitPlan =>
      plan('inference/vllm-replicas', {
        resources: { gpu: 4, partition: 'gpu' },
        gpu_per_replica: perReplica,
        model: 'org/m',
      });
    const verdict = assessFit(group(1), weightsGb(50), LIMITS);
    expect(verdict.kind).toBe('too-big');
    if (verdict.kind === 'too-big') {
      expect(verdict.message).toContain('but each replica has 1 GPU: 1 GPU × 40 GB');
      expect(verdict.message).toContain('give it at least 2 GPUs (gpu_per_replica)');
    }
    expect(assessFit(group(2), weightsGb(50), LIMITS).kind).toBe('fits');
  });

  it('counts only the GPUs VLLM_TENSOR_PARALLEL_SIZE splits the model over', () => {
    const limited = onGpu(4, { environment: { VLLM_TENSOR_PARALLEL_SIZE: '1' } });
    const verdict = assessFit(limited, weightsGb(60), LIMITS);
    expect(verdict.kind).toBe('too-big');
    if (verdict.kind === 'too-big') {
      expect(verdict.message).toContain(
        'the service has 4 GPUs but VLLM_TENSOR_PARALLEL_SIZE splits the model over 1 GPU',
      );
      expect(verdict.message).toContain('(environment.VLLM_TENSOR_PARALLEL_SIZE)');
    }
  });

  it('unknown size: passes with a warning that says why', () => {
    expect(assessFit(onGpu(2), { kind: 'unknown', reason: 'the Hub is unreachable' }, LIMITS)).toEqual({
      kind: 'unknown',
      warning:
        'Model org/m: its size is unknown, so whether it fits 2 GPUs was not checked (the Hub is unreachable)',
    });
  });
});
