/**
 * Whether an endpoint a job published may be recorded: its host must be a node the scheduler
 * reports for the job (or the same name with a domain, as `hostname` may print it), or a host the
 * worker itself told jobs to write (ENDPOINT_HOST, the local executor's own machine). A job directory
 * is the user's, but an endpoint naming another machine is never what the job script writes, so it
 * is refused rather than sent prompts and keys.
 */
export function endpointHostProblem(
  endpoint: string,
  nodes: readonly string[],
  alsoAllowed: readonly string[],
): string | undefined {
  let host: string;
  try {
    host = new URL(endpoint).hostname.toLowerCase();
  } catch {
    return `endpoint ${endpoint} is not a URL`;
  }
  const allowed = [...nodes, ...alsoAllowed].map((name) => name.toLowerCase());
  if (allowed.some((name) => host === name || host.startsWith(`${name}.`))) return undefined;
  return `endpoint host ${host} is not the job's node (${nodes.join(', ') || 'none reported'})`;
}
