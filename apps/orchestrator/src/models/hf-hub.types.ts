import { z } from 'zod';

// The Hub's model JSON (GET /api/models and /api/models/{id}). Every field but the id is optional
// and a field of an unexpected type reads as absent: the Hub adds and reshapes fields over time, and
// one odd model must not fail a whole search.
const optional = <T extends z.ZodType>(schema: T) => schema.optional().catch(undefined);

const sibling = z.looseObject({
  rfilename: z.string(),
  size: optional(z.number().nonnegative()),
  lfs: optional(z.looseObject({ size: z.number().nonnegative() })),
});

export const hubModelSchema = z.looseObject({
  id: z.string().min(1),
  downloads: optional(z.number()),
  likes: optional(z.number()),
  tags: optional(z.array(z.string())),
  pipeline_tag: optional(z.string()),
  library_name: optional(z.string()),
  createdAt: optional(z.string()),
  gated: optional(z.union([z.boolean(), z.string()])),
  config: optional(
    z.looseObject({
      architectures: optional(z.array(z.string())),
      model_type: optional(z.string()),
    }),
  ),
  siblings: optional(z.array(sibling)),
  safetensors: optional(
    z.looseObject({
      parameters: optional(z.record(z.string(), z.number())),
      total: optional(z.number()),
    }),
  ),
  usedStorage: optional(z.number().nonnegative()),
});

export type HubModel = z.infer<typeof hubModelSchema>;
export type HubSibling = z.infer<typeof sibling>;

/** One search hit; models the Hub sends in a shape we cannot read are dropped, not fatal. */
export function parseHubModels(body: unknown): HubModel[] | null {
  if (!Array.isArray(body)) return null;
  return body.flatMap((item) => {
    const parsed = hubModelSchema.safeParse(item);
    return parsed.success ? [parsed.data] : [];
  });
}

export function parseHubModel(body: unknown): HubModel | null {
  const parsed = hubModelSchema.safeParse(body);
  return parsed.success ? parsed.data : null;
}
