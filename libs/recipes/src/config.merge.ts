import type { ResourceRequest } from '@aiplane/contracts';

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
export interface ServiceConfigInput {
  environment?: Record<string, string | number | boolean> | null;
  resources?: { [K in keyof ResourceRequest]?: ResourceRequest[K] | string | null } | null;
  gpu_per_replica?: number | string | null;
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

const CONFIG_FIELDS = ['environment', 'resources', 'gpu_per_replica'] as const;
const RESOURCE_FIELDS = ['nodes', 'cpu', 'memory', 'time_limit', 'gpu', ...SLURM_NAME_FIELDS] as const;

/** Pure: the same recipe and config always give the same result. Throws ConfigError. */
export function mergeConfig(recipe: Recipe, config: ServiceConfigInput | undefined): EffectiveConfig {
  const input = objectOrEmpty(config, 'config');
  rejectUnknownFields(input, CONFIG_FIELDS, 'config');

  const resources = mergeResources(recipe, objectOrEmpty(input.resources, 'resources'));
  const gpuPerReplica =
    coerceInteger(input.gpu_per_replica, 'gpu_per_replica', GPU_PER_REPLICA_LIMIT) ?? recipe.gpu_per_replica;
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

  const environment = mergeEnvironment(recipe, objectOrEmpty(input.environment, 'environment'));
  if (recipe.kind === 'vllm' && !environment.userSet.has(TENSOR_PARALLEL_VARIABLE)) {
    // One process per replica uses that replica's GPUs; a single service uses them all, and a
    // CPU-only request still needs a size of 1.
    environment.values.set(TENSOR_PARALLEL_VARIABLE, String(gpuPerReplica ?? Math.max(1, resources.gpu)));
  }

  const merged: EffectiveConfig = { resources, environment: sortedObject(environment.values) };
  if (gpuPerReplica !== undefined) merged.gpu_per_replica = gpuPerReplica;
  return merged;
}

function mergeResources(recipe: Recipe, user: Record<string, unknown>): EffectiveResources {
  rejectUnknownFields(user, RESOURCE_FIELDS, 'resources');
  const defaults = recipe.resources;
  const resources: EffectiveResources = {
    nodes: coerceInteger(user.nodes, 'resources.nodes', RESOURCE_LIMITS.nodes) ?? defaults.nodes,
    cpu: coerceInteger(user.cpu, 'resources.cpu', RESOURCE_LIMITS.cpu) ?? defaults.cpu,
    memory: coerceMemory(user.memory) ?? defaults.memory,
    time_limit:
      coerceInteger(user.time_limit, 'resources.time_limit', RESOURCE_LIMITS.time_limit) ??
      defaults.time_limit,
    // The document's CPU-only request sends "gpu": null, so null means none rather than the default.
    gpu:
      user.gpu === null ? 0 : (coerceInteger(user.gpu, 'resources.gpu', RESOURCE_LIMITS.gpu) ?? defaults.gpu),
  };
  for (const field of SLURM_NAME_FIELDS) {
    const value = coerceSlurmName(user[field], `resources.${field}`) ?? defaults[field];
    if (value !== undefined) resources[field] = value;
  }
  return resources;
}

function mergeEnvironment(
  recipe: Recipe,
  user: Record<string, unknown>,
): { values: Map<string, string>; userSet: ReadonlySet<string> } {
  // A Map, then Object.fromEntries: a key such as __proto__ stays an ordinary variable.
  const values = new Map(Object.entries(recipe.environment));
  for (const [name, raw] of Object.entries(user)) {
    const problem = envNameProblem(name);
    if (problem !== undefined) throw new ConfigError(`environment: ${problem}`, 'environment');
    values.set(name, coerceEnvValue(name, raw));
  }

  const portVariable = PORT_VARIABLE[recipe.kind];
  const port = user[portVariable] === undefined ? undefined : values.get(portVariable);
  if (port !== undefined && !isPort(port)) {
    throw new ConfigError(
      `environment.${portVariable} must be a port number from ${PORT_LIMIT.min} to ${PORT_LIMIT.max}, got ${showValue(port)}`,
      `environment.${portVariable}`,
    );
  }
  return { values, userSet: new Set(Object.keys(user)) };
}

function coerceEnvValue(name: string, raw: unknown): string {
  const field = `environment.${name}`;
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

function coerceInteger(value: unknown, field: string, limit: IntegerLimit): number | undefined {
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

function coerceMemory(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  // SLURM reads a bare --mem number as megabytes; say so explicitly.
  const text = typeof value === 'number' ? `${value}M` : typeof value === 'string' ? value.toUpperCase() : '';
  if (!MEMORY_PATTERN.test(text)) {
    throw new ConfigError(
      `resources.memory must look like "64G" (a positive integer with an optional K, M, G or T unit), got ${showValue(value)}`,
      'resources.memory',
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
