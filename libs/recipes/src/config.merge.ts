import { idleTimeoutProblem, type ResourceRequest } from '@aiplane/contracts';

import { ConfigError } from './recipe.errors';
import {
  ENV_VALUE_MAX_BYTES,
  GPU_PER_REPLICA_LIMIT,
  MEMORY_PATTERN,
  PORT_LIMIT,
  PORT_VARIABLE,
  RESOURCE_LIMITS,
  SLURM_NAME_FIELDS,
  SLURM_NAME_PATTERN,
  TENSOR_PARALLEL_VARIABLE,
  showValue,
  envNameProblem,
  integerProblem,
  type IntegerLimit,
} from './recipe.rules';
import type { Recipe } from './recipe.schema';

/**
 * A service config as it arrives from JSON after shape validation: numbers may still be numeric
 * strings and `null` means "not given" (for `gpu`: CPU-only). `ServiceConfig` is a special case.
 */
export interface ServiceConfigInput extends ConfigShortcutsInput {
  environment?: Record<string, string | number | boolean> | null;
  resources?: { [K in keyof ResourceRequest]?: ResourceRequest[K] | string | null } | null;
  gpu_per_replica?: number | string | null;
  idle_timeout?: number | string;
}

/**
 * The flat keys of the system the user's document describes, each an alias of one nested place
 * (CONTRACT.md "Requests"). Its clients send them; the record keeps them as sent.
 */
export type ConfigShortcutsInput = {
  [K in ResourceShortcut]?: ResourceRequest[K] | string | null;
} & {
  [K in EnvironmentShortcut | typeof BASE_PORT_SHORTCUT]?: string | number | boolean | null;
};

export const RESOURCE_SHORTCUTS = ['nodes', 'cpu', 'memory', 'gpu', 'time_limit'] as const;
type ResourceShortcut = (typeof RESOURCE_SHORTCUTS)[number];

export const ENVIRONMENT_SHORTCUTS = {
  model: 'VLLM_MODEL',
  max_model_len: 'VLLM_MAX_MODEL_LEN',
  gpu_memory_utilization: 'VLLM_GPU_MEMORY_UTILIZATION',
  replica_port: 'VLLM_PORT',
} as const;
type EnvironmentShortcut = keyof typeof ENVIRONMENT_SHORTCUTS;

/**
 * The port replica 0 (or the only instance) prefers, the recipe's `ports.base` when not given. The
 * job reads it from the kind's port variable, so that is where the alias lands.
 */
export const BASE_PORT_SHORTCUT = 'base_port';

/** A value the user gave, and the field it was given as, for messages that name what was sent. */
interface Given {
  value: unknown;
  field: string;
}

export interface EffectiveResources {
  nodes: number;
  cpu: number;
  memory: string;
  time_limit: number;
  gpu: number;
  partition?: string;
  account?: string;
  qos?: string;
}

/** What a job runs with: the recipe's defaults with the user's config laid over them. */
export interface EffectiveConfig {
  resources: EffectiveResources;
  /** Reaches the job through its process environment, never through the script text. */
  environment: Record<string, string>;
  gpu_per_replica?: number;
}

const CONFIG_FIELDS = [
  'environment',
  'resources',
  'gpu_per_replica',
  ...RESOURCE_SHORTCUTS,
  ...(Object.keys(ENVIRONMENT_SHORTCUTS) as EnvironmentShortcut[]),
  BASE_PORT_SHORTCUT,
  'rollover',
  // Not a job parameter: the control plane's own (idle stop), checked here with the rest of the config.
  'idle_timeout',
] as const;
const RESOURCE_FIELDS = ['nodes', 'cpu', 'memory', 'time_limit', 'gpu', ...SLURM_NAME_FIELDS] as const;

/** Pure: the same recipe and config always give the same result. Throws ConfigError. */
export function mergeConfig(recipe: Recipe, config: ServiceConfigInput | undefined): EffectiveConfig {
  const input = objectOrEmpty(config, 'config');
  rejectUnknownFields(input, CONFIG_FIELDS, 'config');
  if (input.rollover !== undefined && typeof input.rollover !== 'boolean') {
    throw new ConfigError('rollover must be true or false (a JSON boolean)', 'rollover');
  }

  const resources = mergeResources(recipe, objectOrEmpty(input.resources, 'resources'), input);
  const gpuPerReplica =
    coerceInteger({ value: input.gpu_per_replica, field: 'gpu_per_replica' }, GPU_PER_REPLICA_LIMIT) ??
    recipe.gpu_per_replica;
  const idleProblem = idleTimeoutProblem(input.idle_timeout);
  if (idleProblem !== undefined) throw new ConfigError(idleProblem, 'idle_timeout');
  if (input.idle_timeout !== undefined && gpuPerReplica !== undefined) {
    throw new ConfigError(
      'idle_timeout is not supported for replica groups (gpu_per_replica); leave it out, or use a single-node recipe',
      'idle_timeout',
    );
  }
  if (gpuPerReplica !== undefined) {
    if (resources.gpu === 0) {
      throw new ConfigError(
        `gpu_per_replica (${gpuPerReplica}) needs GPUs, but resources.gpu is 0 (CPU-only)`,
        'gpu_per_replica',
      );
    }
    if (resources.gpu % gpuPerReplica !== 0) {
      throw new ConfigError(
        `resources.gpu (${resources.gpu}) must be divisible by gpu_per_replica (${gpuPerReplica})`,
        'gpu_per_replica',
      );
    }
  }

  const environment = mergeEnvironment(
    recipe,
    objectOrEmpty(input.environment, 'environment'),
    environmentShortcuts(recipe, input),
  );
  if (recipe.kind === 'vllm' && !environment.userSet.has(TENSOR_PARALLEL_VARIABLE)) {
    // One process per replica uses that replica's GPUs; a single service uses them all, and a
    // CPU-only request still needs a size of 1.
    environment.values.set(TENSOR_PARALLEL_VARIABLE, String(gpuPerReplica ?? Math.max(1, resources.gpu)));
  }

  const merged: EffectiveConfig = { resources, environment: sortedObject(environment.values) };
  if (gpuPerReplica !== undefined) merged.gpu_per_replica = gpuPerReplica;
  return merged;
}

function mergeResources(
  recipe: Recipe,
  nested: Record<string, unknown>,
  flat: Record<string, unknown>,
): EffectiveResources {
  rejectUnknownFields(nested, RESOURCE_FIELDS, 'resources');
  // The nested form wins when both are given; a flat key is named as sent in any message.
  const given = (field: ResourceShortcut): Given =>
    nested[field] !== undefined
      ? { value: nested[field], field: `resources.${field}` }
      : { value: flat[field], field };
  const defaults = recipe.resources;
  const gpu = given('gpu');
  const resources: EffectiveResources = {
    nodes: coerceInteger(given('nodes'), RESOURCE_LIMITS.nodes) ?? defaults.nodes,
    cpu: coerceInteger(given('cpu'), RESOURCE_LIMITS.cpu) ?? defaults.cpu,
    memory: coerceMemory(given('memory')) ?? defaults.memory,
    time_limit: coerceInteger(given('time_limit'), RESOURCE_LIMITS.time_limit) ?? defaults.time_limit,
    // The document's CPU-only request sends "gpu": null, so null means none rather than the default.
    gpu: gpu.value === null ? 0 : (coerceInteger(gpu, RESOURCE_LIMITS.gpu) ?? defaults.gpu),
  };
  for (const field of SLURM_NAME_FIELDS) {
    const value = coerceSlurmName(nested[field], `resources.${field}`) ?? defaults[field];
    if (value !== undefined) resources[field] = value;
  }
  return resources;
}

/** The environment variables the flat keys set, by variable name; the nested form overrides them later. */
function environmentShortcuts(recipe: Recipe, input: Record<string, unknown>): Map<string, Given> {
  const shortcuts = new Map<string, Given>();
  const portVariable = PORT_VARIABLE[recipe.kind];
  const basePort = input[BASE_PORT_SHORTCUT];
  if (basePort !== undefined) shortcuts.set(portVariable, { value: basePort, field: BASE_PORT_SHORTCUT });
  for (const [field, variable] of Object.entries(ENVIRONMENT_SHORTCUTS)) {
    const value = input[field];
    if (value === undefined) continue;
    const other = shortcuts.get(variable);
    // Both name the first port; silently preferring one would start the service elsewhere than asked.
    if (other !== undefined && asText(other.value) !== asText(value)) {
      throw new ConfigError(
        `${field} (${showValue(value)}) and ${other.field} (${showValue(other.value)}) both set ${variable}; give one of them`,
        field,
      );
    }
    shortcuts.set(variable, { value, field });
  }
  return shortcuts;
}

/** How a value reads once it is an environment value: 9000 and "9000" name the same port. */
function asText(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : showValue(value);
}

function mergeEnvironment(
  recipe: Recipe,
  nested: Record<string, unknown>,
  shortcuts: ReadonlyMap<string, Given>,
): { values: Map<string, string>; userSet: ReadonlySet<string> } {
  // A Map, then Object.fromEntries: a key such as __proto__ stays an ordinary variable.
  const user = new Map(shortcuts);
  for (const [name, value] of Object.entries(nested)) {
    const problem = envNameProblem(name);
    if (problem !== undefined) throw new ConfigError(`environment: ${problem}`, 'environment');
    user.set(name, { value, field: `environment.${name}` });
  }
  const values = new Map(Object.entries(recipe.environment));
  for (const [name, given] of user) values.set(name, coerceEnvValue(given));

  const portVariable = PORT_VARIABLE[recipe.kind];
  const port = user.get(portVariable);
  const portValue = values.get(portVariable);
  if (port !== undefined && portValue !== undefined && !isPort(portValue)) {
    throw new ConfigError(
      `${port.field} must be a port number from ${PORT_LIMIT.min} to ${PORT_LIMIT.max}, got ${showValue(portValue)}`,
      port.field,
    );
  }
  return { values, userSet: new Set(user.keys()) };
}

function coerceEnvValue({ value: raw, field }: Given): string {
  let value: string;
  if (typeof raw === 'string') value = raw;
  else if ((typeof raw === 'number' && Number.isFinite(raw)) || typeof raw === 'boolean') value = String(raw);
  // Values may be secrets: the messages below never repeat them.
  else throw new ConfigError(`${field} must be a string, number or boolean, got ${typeName(raw)}`, field);

  if (value.includes('\0')) throw new ConfigError(`${field} must not contain a NUL byte`, field);
  if (/\p{Surrogate}/u.test(value)) {
    throw new ConfigError(`${field} is not valid Unicode text (it holds an unpaired surrogate)`, field);
  }
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > ENV_VALUE_MAX_BYTES) {
    throw new ConfigError(
      `${field} is ${bytes} bytes long; values are limited to ${ENV_VALUE_MAX_BYTES} bytes`,
      field,
    );
  }
  return value;
}

function coerceInteger({ value, field }: Given, limit: IntegerLimit): number | undefined {
  if (value === undefined || value === null) return undefined;
  const parsed =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\d{1,9}$/.test(value)
        ? Number(value)
        : NaN;
  if (!Number.isSafeInteger(parsed)) {
    const wanted = limit.min > 0 ? 'a positive integer' : 'a non-negative integer';
    throw new ConfigError(`${field} must be ${wanted}, got ${showValue(value)}`, field);
  }
  const problem = integerProblem(field, parsed, limit);
  if (problem !== undefined) throw new ConfigError(problem, field);
  return parsed;
}

function coerceMemory({ value, field }: Given): string | undefined {
  if (value === undefined || value === null) return undefined;
  // SLURM reads a bare --mem number as megabytes; say so explicitly.
  const text = typeof value === 'number' ? `${value}M` : typeof value === 'string' ? value.toUpperCase() : '';
  if (!MEMORY_PATTERN.test(text)) {
    throw new ConfigError(
      `${field} must look like "64G" (a positive integer with an optional K, M, G or T unit), got ${showValue(value)}`,
      field,
    );
  }
  return text;
}

function coerceSlurmName(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !SLURM_NAME_PATTERN.test(value)) {
    throw new ConfigError(
      `${field} must be 1-64 characters from A-Z a-z 0-9 _ . -, got ${showValue(value)}`,
      field,
    );
  }
  return value;
}

function isPort(value: string): boolean {
  if (!/^[1-9][0-9]{0,4}$/.test(value)) return false;
  const port = Number(value);
  return port >= PORT_LIMIT.min && port <= PORT_LIMIT.max;
}

function objectOrEmpty(value: unknown, field: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`${field} must be an object, got ${typeName(value)}`, field);
  }
  return value as Record<string, unknown>;
}

function rejectUnknownFields(value: Record<string, unknown>, known: readonly string[], field: string): void {
  const unknown = Object.keys(value).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw new ConfigError(
      `${field} has unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((key) => showValue(key)).join(', ')}; accepted: ${known.join(', ')}`,
      field,
    );
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function sortedObject(values: Map<string, string>): Record<string, string> {
  return Object.fromEntries([...values].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
