import type { ServiceConfig } from '@aiplane/contracts';
import type { EffectiveConfig, Recipe } from '@aiplane/recipes';
import type { HubModel } from '../models/hf-hub.types';

// The arithmetic of the fit check (docs/fit-check.md), free of HTTP and Nest so that every case is a
// unit test. GB here are GiB (2^30 bytes), as nvidia-smi and the partition table count GPU memory.
const GIB = 2 ** 30;

/** vLLM's own default when a recipe sets no VLLM_GPU_MEMORY_UTILIZATION. */
const VLLM_DEFAULT_UTILIZATION = 0.9;

/**
 * Bytes per parameter of each safetensors dtype as vLLM holds it on the GPU. F32 counts 2: the
 * recipes pass no --dtype, and vLLM's `auto` serves float32 checkpoints in 16 bits.
 */
const DTYPE_BYTES: ReadonlyMap<string, number> = new Map([
  ['F32', 2],
  ['BF16', 2],
  ['F16', 2],
  ['F8_E4M3', 1],
  ['F8_E5M2', 1],
  ['F8_E8M0', 1],
  ['I64', 8],
  ['I32', 4],
  ['I16', 2],
  ['I8', 1],
  ['U64', 8],
  ['U32', 4],
  ['U16', 2],
  ['U8', 1],
  ['BOOL', 1],
]);

// A Hub model id (`name` or `org/name`); anything else (a path on the cluster) is never sent to the Hub.
const HUB_MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}(\/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?$/;

export function isHubModelId(model: string): boolean {
  return HUB_MODEL_ID.test(model);
}

export type WeightsEstimate =
  | { kind: 'known'; bytes: number; source: 'safetensors parameters' | 'safetensors files' }
  | { kind: 'unknown'; reason: string };

/**
 * The weights of a Hub model as vLLM loads them. The Hub's model info carries `safetensors.parameters`
 * (a parameter count per dtype, which it reads from the files' headers): counts × dtype bytes. When
 * that is missing or names a dtype not known here, the sizes of the `*.safetensors` files (listed
 * with `blobs=true`) stand in; a repository with neither (only .bin or GGUF files) is unknown.
 */
export function weightsOf(model: HubModel): WeightsEstimate {
  const parameters = Object.entries(model.safetensors?.parameters ?? {});
  if (parameters.length > 0) {
    const sizes = parameters.map(([dtype, count]) => {
      const bytes = DTYPE_BYTES.get(dtype.toUpperCase());
      return bytes === undefined || !Number.isFinite(count) || count < 0 ? undefined : bytes * count;
    });
    if (sizes.every((size) => size !== undefined)) {
      return { kind: 'known', bytes: sum(sizes), source: 'safetensors parameters' };
    }
  }
  const files = (model.siblings ?? []).filter((file) => file.rfilename.endsWith('.safetensors'));
  const fileSizes = files.map((file) => file.lfs?.size ?? file.size);
  if (files.length > 0 && fileSizes.every((size) => size !== undefined)) {
    return { kind: 'known', bytes: sum(fileSizes), source: 'safetensors files' };
  }
  return { kind: 'unknown', reason: `the Hugging Face Hub lists no safetensors weights for ${model.id}` };
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** What one vLLM process of a create is given: the check is per replica. */
export interface FitPlan {
  model: string;
  /** Where the job goes: the request's partition, else the configured default; unset when neither. */
  partition: string | undefined;
  /** GPUs of one replica (a single service: all its GPUs per node). */
  replicaGpus: number;
  /** GPUs the model is split over: VLLM_TENSOR_PARALLEL_SIZE when it asks for fewer than the replica has. */
  modelGpus: number;
  grouped: boolean;
  utilization: number;
  /** The field a person changes to give the model more GPUs, named in the messages. */
  gpuField: string;
}

export type FitPlanOutcome =
  | { kind: 'plan'; plan: FitPlan }
  /** Nothing to check: not a vLLM recipe, or CPU-only. */
  | { kind: 'skip' }
  | { kind: 'invalid'; field: string; message: string };

const UTILIZATION_VARIABLE = 'VLLM_GPU_MEMORY_UTILIZATION';
const TENSOR_PARALLEL_VARIABLE = 'VLLM_TENSOR_PARALLEL_SIZE';

export function fitPlanOf(
  recipe: Recipe,
  config: ServiceConfig,
  effective: EffectiveConfig,
  defaultPartition: string | undefined,
): FitPlanOutcome {
  if (recipe.kind !== 'vllm') return { kind: 'skip' };
  const environment = effective.environment;
  const utilizationText = environment[UTILIZATION_VARIABLE];
  const utilization =
    utilizationText === undefined || utilizationText.trim() === ''
      ? VLLM_DEFAULT_UTILIZATION
      : Number(utilizationText);
  // vLLM (and the simulator) refuse anything else at start-up, after the queue wait.
  if (!Number.isFinite(utilization) || utilization <= 0 || utilization > 1) {
    const field =
      config.environment?.[UTILIZATION_VARIABLE] === undefined && config.gpu_memory_utilization !== undefined
        ? 'gpu_memory_utilization'
        : `environment.${UTILIZATION_VARIABLE}`;
    return {
      kind: 'invalid',
      field,
      message: `${field} must be a number greater than 0 and at most 1 (the fraction of each GPU's memory vLLM may use)`,
    };
  }
  const grouped = effective.gpu_per_replica !== undefined;
  const replicaGpus = effective.gpu_per_replica ?? effective.resources.gpu;
  if (replicaGpus <= 0) return { kind: 'skip' };
  const tensorParallel = Number(environment[TENSOR_PARALLEL_VARIABLE]);
  const limitedByTensorParallel =
    Number.isInteger(tensorParallel) && tensorParallel >= 1 && tensorParallel < replicaGpus;
  return {
    kind: 'plan',
    plan: {
      model: environment.VLLM_MODEL ?? '',
      partition: effective.resources.partition ?? defaultPartition,
      replicaGpus,
      modelGpus: limitedByTensorParallel ? tensorParallel : replicaGpus,
      grouped,
      utilization,
      gpuField: limitedByTensorParallel
        ? `environment.${TENSOR_PARALLEL_VARIABLE}`
        : grouped
          ? 'gpu_per_replica'
          : 'resources.gpu',
    },
  };
}

/** The orchestrator's FIT_* settings. */
export interface FitLimits {
  /** GB of one GPU, by partition. */
  gpuMemoryGb: ReadonlyMap<string, number>;
  /** A partition the table does not name, or none given. */
  defaultGpuMemoryGb: number;
  /** KV cache wanted beside the weights, as a fraction of them. */
  kvHeadroomFraction: number;
  /** Per GPU: CUDA context, activations, CUDA graphs. */
  gpuOverheadGb: number;
}

/** The numbers behind a verdict, as the 400's body carries them (GB rounded to 2 decimals). */
export interface FitNumbers {
  model: string;
  weights_gb: number;
  /** GPUs the model is split over (per replica). */
  gpus: number;
  gpu_memory_gb: number;
  partition: string | null;
  /** Whether gpu_memory_gb came from the partition table rather than the default. */
  partition_in_table: boolean;
  gpu_memory_utilization: number;
  /** gpus × gpu_memory_gb × gpu_memory_utilization: what vLLM may use. */
  usable_gb: number;
  headroom_gb: number;
  /** The fewest GPUs of this partition whose usable memory holds the weights. */
  min_gpus: number;
}

export type FitVerdict =
  | { kind: 'fits'; numbers: FitNumbers }
  | { kind: 'tight'; numbers: FitNumbers; warning: string }
  | { kind: 'too-big'; numbers: FitNumbers; message: string }
  | { kind: 'unknown'; warning: string };

export function assessFit(plan: FitPlan, weights: WeightsEstimate, limits: FitLimits): FitVerdict {
  const gpus = `${String(plan.modelGpus)} GPU${plan.modelGpus === 1 ? '' : 's'}`;
  if (weights.kind === 'unknown') {
    // Anything but a Hub id is the user's own text (a path, or anything at all): not repeated.
    const subject = isHubModelId(plan.model) ? `Model ${plan.model}` : 'The model (VLLM_MODEL)';
    return {
      kind: 'unknown',
      warning: `${subject}: its size is unknown, so whether it fits ${gpus} was not checked (${weights.reason})`,
    };
  }
  const inTable = plan.partition !== undefined && limits.gpuMemoryGb.has(plan.partition);
  const perGpuGb =
    (plan.partition === undefined ? undefined : limits.gpuMemoryGb.get(plan.partition)) ??
    limits.defaultGpuMemoryGb;
  const perGpuBytes = perGpuGb * GIB;
  const usable = plan.modelGpus * perGpuBytes * plan.utilization;
  const headroom = limits.kvHeadroomFraction * weights.bytes + limits.gpuOverheadGb * GIB * plan.modelGpus;
  const numbers: FitNumbers = {
    model: plan.model,
    weights_gb: roundGb(weights.bytes),
    gpus: plan.modelGpus,
    gpu_memory_gb: perGpuGb,
    partition: plan.partition ?? null,
    partition_in_table: inTable,
    gpu_memory_utilization: plan.utilization,
    usable_gb: roundGb(usable),
    headroom_gb: roundGb(headroom),
    min_gpus: Math.max(1, Math.ceil(weights.bytes / (perGpuBytes * plan.utilization))),
  };
  const where =
    plan.partition === undefined
      ? `the default partition (no partition given; ${String(perGpuGb)} GB per GPU assumed)`
      : inTable
        ? `partition ${plan.partition}`
        : `partition ${plan.partition} (not in FIT_GPU_MEMORY_GB; ${String(perGpuGb)} GB per GPU assumed)`;
  const holder = plan.grouped ? 'each replica has' : 'the service has';
  const split =
    plan.modelGpus < plan.replicaGpus
      ? `${holder} ${String(plan.replicaGpus)} GPUs but ${TENSOR_PARALLEL_VARIABLE} splits the model over ${gpus}`
      : `${holder} ${gpus}`;
  const capacity = `${gpus} × ${String(perGpuGb)} GB on ${where} = ${gb(plan.modelGpus * perGpuBytes)} GB`;
  const share = `gpu_memory_utilization ${String(plan.utilization)}`;
  if (weights.bytes > usable) {
    return {
      kind: 'too-big',
      numbers,
      message:
        `Model ${plan.model} does not fit: its weights alone are ${gb(weights.bytes)} GB, but ${split}: ` +
        `${capacity}, of which vLLM may use ${gb(usable)} GB (${share}). Nothing was submitted; ` +
        `give it at least ${String(numbers.min_gpus)} GPUs (${plan.gpuField}), or choose a smaller or quantized model.`,
    };
  }
  if (weights.bytes + headroom > usable) {
    return {
      kind: 'tight',
      numbers,
      warning:
        `Model ${plan.model} fits only without enough KV-cache headroom: ${split} (${capacity}), ` +
        `of which vLLM may use ${gb(usable)} GB (${share}), and the weights (${gb(weights.bytes)} GB) ` +
        `plus headroom (${gb(headroom)} GB: ${percent(limits.kvHeadroomFraction)}% of the weights ` +
        `for the KV cache and ${String(limits.gpuOverheadGb)} GB per GPU) need ${gb(weights.bytes + headroom)} GB. ` +
        `vLLM may refuse to start or serve only short contexts; more GPUs (${plan.gpuField}) or a smaller max_model_len help.`,
    };
  }
  return { kind: 'fits', numbers };
}

function percent(fraction: number): string {
  return String(Number((fraction * 100).toPrecision(6)));
}

function roundGb(bytes: number): number {
  return Math.round((bytes / GIB) * 100) / 100;
}

/** For messages: two decimals below 1 GB (small models), one above. */
function gb(bytes: number): string {
  const value = bytes / GIB;
  return value.toFixed(value < 1 ? 2 : 1);
}
