/**
 * Builds an orchestrator path under `/api`, percent-encoding every interpolated segment so a path
 * parameter can never add a segment, a query or a fragment upstream:
 * upstreamPath`/services/${id}/status` → `/api/services/3652098/status`.
 */
export function upstreamPath(strings: TemplateStringsArray, ...segments: (string | number)[]): string {
  let path = '/api';
  strings.forEach((literal, index) => {
    path += literal;
    const segment = segments[index];
    if (segment !== undefined) path += encodeURIComponent(String(segment));
  });
  return path;
}

/** Appends only the parameters that have a value; everything else the client sent stays behind. */
export function withQuery(path: string, params: Record<string, string | number | undefined>): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) query.append(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}
