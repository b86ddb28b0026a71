import { z } from 'zod';
import { JOB_STATES, ROLLOVER_STATES, serviceConfigSchema } from '@aiplane/contracts';
import type { StoredGroup, Submission, WorkloadKind } from './registry.types';

// The shapes of the records as read back from Redis; `satisfies` keeps them in step with the types.

export const workloadKindSchema = z.enum(['vllm', 'qdrant']) satisfies z.ZodType<WorkloadKind>;

export const jobStateSchema = z.enum(JOB_STATES);

export const apiKeysSchema = z.array(z.string());

export const warningsSchema = z.array(z.string());

export const rolloverStateSchema = z.enum(ROLLOVER_STATES);

export const generationsSchema = z.array(
  z.object({ job_id: z.string(), started_at: z.string().nullable(), ended_at: z.string().nullable() }),
);

const timelineSchema = z.object({
  submitted_at: z.string().nullable(),
  started_at: z.string().nullable(),
  ready_at: z.string().nullable(),
  ended_at: z.string().nullable(),
});

export const submissionSchema = z.object({
  id: z.string(),
  recipe_name: z.string(),
  config: serviceConfigSchema,
  request_id: z.string(),
  created_at: z.string(),
  job_id: z.string().optional(),
  api_keys: apiKeysSchema.optional(),
  body_sha256: z.string().optional(),
  warnings: warningsSchema.optional(),
}) satisfies z.ZodType<Submission>;

export const storedGroupSchema = z.object({
  id: z.string(),
  job_ids: z.array(z.string()),
  name: z.string(),
  recipe_name: z.string(),
  kind: workloadKindSchema,
  config: serviceConfigSchema,
  created_at: z.string(),
  submission_id: z.string(),
  total_replicas: z.number(),
  gpu_per_replica: z.number(),
  base_port: z.number(),
  warnings: warningsSchema.optional(),
  generation: z.number().optional(),
  generations: generationsSchema.optional(),
  next_job_ids: z.array(z.string()).optional(),
  retiring_job_ids: z.array(z.string()).optional(),
  rollover: z.object({ state: rolloverStateSchema, message: z.string().nullable() }).optional(),
  first_timeline: timelineSchema.optional(),
}) satisfies z.ZodType<StoredGroup>;

/** The GPU ids of each replica of a node job, one list per replica (the hash field `replica_gpus`). */
export const replicaGpusSchema = z.array(z.array(z.string()));

/** A service hash: every field is a string; these are the ones a record cannot do without. */
export const serviceHashSchema = z.looseObject({
  id: z.string(),
  job_id: z.string(),
  name: z.string(),
  recipe_name: z.string(),
  kind: workloadKindSchema,
  config: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  submission_id: z.string(),
  job_dir: z.string(),
  readiness_path: z.string(),
  scheduler_state: jobStateSchema,
  exit_code: z
    .string()
    .regex(/^(-?\d+)?$/)
    .optional(),
  node_index: z
    .string()
    .regex(/^(\d+)?$/)
    .optional(),
});
