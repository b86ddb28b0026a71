/**
 * Rules shared by the recipe schema, mergeConfig and the renderer, so a recipe default, a user's
 * override and what reaches an #SBATCH line are held to the same limits.
 */

export const RECIPE_KINDS = ['vllm', 'qdrant'] as const;
export type RecipeKind = (typeof RECIPE_KINDS)[number];

/**
 * The variable each kind's workload reads its HTTP port from. The job picks the first free port
 * from it (or from ports.base) and exports the port actually chosen back under this name.
 */
export const PORT_VARIABLE: Readonly<Record<RecipeKind, string>> = {
  vllm: 'VLLM_PORT',
  qdrant: 'QDRANT__SERVICE__HTTP_PORT',
};

/**
 * The variable holding the address each kind's published port is bound on (by auth_front.py). The
 * job tests a port free on every interface that address covers, not only on 127.0.0.1.
 */
export const HOST_VARIABLE: Readonly<Record<RecipeKind, string>> = {
  vllm: 'VLLM_HOST',
  qdrant: 'QDRANT__SERVICE__HOST',
};

/**
 * A replica group's node job gets one key per replica here, comma-separated, and hands replica i
 * the i-th under API_KEY_VARIABLE: a replica never holds another's key.
 */
export const REPLICA_KEYS_VARIABLE = 'AIPLANE_REPLICA_API_KEYS';

/** The auth front's connection cap when the service's environment does not set one. */
export const DEFAULT_FRONT_MAX_CONNECTIONS = 512;

export const TENSOR_PARALLEL_VARIABLE = 'VLLM_TENSOR_PARALLEL_SIZE';

/**
 * The variable each kind's workload reads its API key from. The worker generates one key per
 * scheduler job and sets it here, so that other users of the cluster, who can reach the compute
 * nodes, cannot call the workload directly; only the proxy, which reads the key from the record, can.
 */
export const API_KEY_VARIABLE: Readonly<Record<RecipeKind, string>> = {
  vllm: 'VLLM_API_KEY',
  qdrant: 'QDRANT__SERVICE__API_KEY',
};

export interface IntegerLimit {
  min: number;
  max: number;
}

export const RESOURCE_LIMITS = {
  nodes: { min: 1, max: 1024 },
  cpu: { min: 1, max: 1024 },
  gpu: { min: 0, max: 64 },
  // Seven days, in minutes.
  time_limit: { min: 1, max: 7 * 24 * 60 },
} as const satisfies Record<string, IntegerLimit>;

export const GPU_PER_REPLICA_LIMIT: IntegerLimit = { min: 1, max: RESOURCE_LIMITS.gpu.max };
export const PORT_LIMIT: IntegerLimit = { min: 1024, max: 65535 };

/** SLURM's --mem syntax with the unit upper-cased; a bare number means megabytes. */
export const MEMORY_PATTERN = /^[1-9][0-9]{0,8}[KMGT]?$/;
export const SLURM_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
export const SLURM_NAME_FIELDS = ['partition', 'account', 'qos'] as const;
export type SlurmNameField = (typeof SLURM_NAME_FIELDS)[number];

export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const ENV_NAME_MAX_LENGTH = 128;
export const ENV_VALUE_MAX_BYTES = 32 * 1024;

export const RECIPE_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const MODULE_PATTERN = /^[A-Za-z0-9_./+-]+$/;
export const JOB_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;
export const JOB_DIR_PATTERN = /^\/[A-Za-z0-9_./-]{0,1023}$/;

// Variables that steer the scheduler, the generated batch shell or the container runtime, or that
// aiplane sets itself: a value for them would be overwritten, or break the script aiplane writes.
// PATH and HOME are the worker's, which starts sbatch with them. The dynamic linker's and the
// interpreters' variables (LD_LIBRARY_PATH, LD_PRELOAD, PYTHONPATH, ...) stay open: the caller is the researcher, who sets these in their own jobs anyway
// (docs/security.md, "Environment variables").
const RESERVED_PREFIXES = [
  'SLURM_',
  'SBATCH_',
  'SRUN_',
  'SALLOC_',
  'AIPLANE_',
  'APPTAINER_',
  'APPTAINERENV_',
  'SINGULARITY_',
  'SINGULARITYENV_',
  'BASH_FUNC_',
] as const;
const RESERVED_NAMES: ReadonlySet<string> = new Set([
  'BASH_ENV',
  'ENV',
  'SHELLOPTS',
  'BASHOPTS',
  'IFS',
  'PS4',
  'PATH',
  'HOME',
  'PROMPT_COMMAND',
]);

const API_KEY_NAMES: ReadonlySet<string> = new Set(Object.values(API_KEY_VARIABLE));

/** Why `name` may not be set through a service config, or undefined when it may. */
export function reservedEnvReason(name: string): string | undefined {
  if (API_KEY_NAMES.has(name)) {
    return `${name} is reserved: aiplane generates a random API key for every service and sets it itself, so that only the control plane can call the workload; remove ${name} from the environment`;
  }
  if (RESERVED_NAMES.has(name)) {
    return `${name} is reserved: it would change how the batch shell or the scheduler behaves`;
  }
  const prefix = RESERVED_PREFIXES.find((p) => name.startsWith(p));
  if (prefix !== undefined) {
    return `${name} is reserved: names starting with ${prefix} are set by the scheduler, the container runtime or aiplane itself`;
  }
  return undefined;
}

/** Problem with an environment variable name, or undefined when it is usable. */
export function envNameProblem(name: string): string | undefined {
  if (name.length > ENV_NAME_MAX_LENGTH) {
    return `environment variable names are at most ${ENV_NAME_MAX_LENGTH} characters, got one of ${name.length}`;
  }
  if (!ENV_NAME_PATTERN.test(name)) {
    return `environment variable name ${showValue(name)} is not valid: use letters, digits and _, not starting with a digit`;
  }
  return reservedEnvReason(name);
}

/** Problem with an integer against its limits, or undefined. `what` names the field in the message. */
export function integerProblem(what: string, value: number, limit: IntegerLimit): string | undefined {
  if (!Number.isSafeInteger(value)) return `${what} must be an integer, got ${showValue(value)}`;
  if (value < limit.min) return `${what} must be at least ${limit.min}, got ${value}`;
  if (value > limit.max) return `${what} must be at most ${limit.max}, got ${value}`;
  return undefined;
}

/** A short, JSON-ish rendering of a value for error messages. */
export function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'function' || typeof value === 'symbol') return typeof value;
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch {
    // bigints and cycles
    text = typeof value;
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
