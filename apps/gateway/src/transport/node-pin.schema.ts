import { z } from 'zod';

/** The login node the gateway reached first for one SSH target, which it keeps going back to. */
export const nodePinSchema = z.object({
  /** The node's own name, as `hostname -f` answers on it. */
  node: z.string().min(1),
  /** Where that node was reached: the address dialled, or via a jump host the address it was reached at. */
  address: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  /** `<type> <base64 blob>` of the host key the node offered when it was pinned. */
  host_key: z.string().min(1),
  pinned_at: z.string(),
});

export type NodePin = z.infer<typeof nodePinSchema>;

/** The pin file: one pin per `user@host:port` the gateway has been pointed at. */
export const nodePinFileSchema = z.object({ pins: z.record(z.string(), nodePinSchema) });

export type NodePinFile = z.infer<typeof nodePinFileSchema>;
