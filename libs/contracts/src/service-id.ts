/**
 * Service ids are scheduler job ids; a replica group's id is its first node job's id behind `sg-`
 * (GROUP_ID_PREFIX). Anything else cannot name a record, so it is refused before any look-up.
 */
export const SERVICE_ID_PATTERN = /^(sg-)?[0-9]{1,12}$/;

export function isServiceId(value: unknown): value is string {
  return typeof value === 'string' && SERVICE_ID_PATTERN.test(value);
}
