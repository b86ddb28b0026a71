import { z } from 'zod';

// zod compiles parsers with `new Function` when it may; the page's CSP forbids eval, and even zod's
// probe for it is reported as a violation. Interpreted parsing is fast enough for a few records.
z.config({ jitless: true });

// What the dashboard reads of the gateway's public API (docs/openapi.json), checked as it arrives:
// an answer of another shape is reported, never half-drawn. Fields the page does not show are let through.

const text = z.string();
const optionalText = text.nullish();

export const queueSchema = z.object({
  position: z.number().nullish(),
  reason: optionalText,
  estimated_start: optionalText,
});

export const timelineSchema = z.object({
  submitted_at: optionalText,
  started_at: optionalText,
  ready_at: optionalText,
  ended_at: optionalText,
});

const replicaSchema = z.object({
  id: text,
  status: text,
  endpoint: optionalText,
});

const nodeJobSchema = z.object({
  job_id: text,
  node: optionalText,
  replicas: z.array(replicaSchema),
});

export const serviceRecordSchema = z.object({
  id: text,
  name: text,
  recipe_name: text,
  status: text,
  type: z.enum(['service', 'replica_group']).nullish(),
  created_at: optionalText,
  endpoint: optionalText,
  job_id: optionalText,
  queue: queueSchema.nullish(),
  timeline: timelineSchema.nullish(),
  total_replicas: z.number().nullish(),
  node_jobs: z.array(nodeJobSchema).nullish(),
  warnings: z.array(text).nullish(),
});
export type ServiceRecord = z.infer<typeof serviceRecordSchema>;

export const serviceListSchema = z.array(serviceRecordSchema);

export const groupStatusSchema = z.object({
  group_id: text,
  overall_status: text,
  total_replicas: z.number(),
  healthy_replicas: z.number(),
  replica_statuses: z.array(
    z.object({ id: text, status: text, endpoint: optionalText, healthy: z.boolean() }),
  ),
});
export type GroupStatus = z.infer<typeof groupStatusSchema>;

const resourceValue = z.union([z.number(), z.string(), z.null()]);

export const recipeSummarySchema = z.object({
  name: text,
  category: text,
  path: text,
  description: text,
  resources: z.record(z.string(), resourceValue),
  gpu_per_replica: z.number().nullish(),
});
export type RecipeSummary = z.infer<typeof recipeSummarySchema>;

export const recipeListSchema = z.array(recipeSummarySchema);

const parameterSchema = z.object({
  description: optionalText,
  default: z.union([z.string(), z.number(), z.boolean(), z.null()]).optional(),
});

export const recipeDetailSchema = recipeSummarySchema.extend({
  environment: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).nullish(),
  /** Documented parameters, by name. */
  parameters: z.record(z.string(), parameterSchema).nullish(),
});
export type RecipeDetail = z.infer<typeof recipeDetailSchema>;

export const cancelSchema = z.object({ success: z.boolean(), message: optionalText, status: optionalText });

export const logsSchema = z.object({ logs: text });

export const modelListSchema = z.object({ data: z.array(z.object({ id: text })) });

/** The error bodies of the API: {statusCode, error, message}, OpenAI's {error: {message}}, the prompt envelope. */
export const errorBodySchema = z.union([
  z.object({ error: z.object({ message: text }) }),
  z.object({ message: z.union([text, z.array(text)]) }),
  z.object({ error: text }),
]);

/** One event of a streamed chat completion (OpenAI's chunk), or the error event that ends a failed stream. */
export const chatChunkSchema = z.union([
  z.object({ error: z.object({ message: text }) }),
  z.object({
    choices: z.array(
      z.object({
        delta: z.object({ content: z.string().nullish() }).nullish(),
        finish_reason: optionalText,
      }),
    ),
  }),
]);
