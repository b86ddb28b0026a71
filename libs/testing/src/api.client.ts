export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** A tiny JSON client for the gateway; tests assert on status codes, so none of them throw. */
export function apiClient(baseUrl: string) {
  return async function api<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse<T>> {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await response.text();
    let parsed: unknown = text;
    if ((response.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
    return { status: response.status, headers: response.headers, body: parsed as T };
  };
}

export type Api = ReturnType<typeof apiClient>;

/** Polls a service's status until it is one of `wanted`, recording every status seen on the way. */
export async function waitForStatus(
  api: Api,
  id: string,
  wanted: readonly string[],
  timeoutMs = 90_000,
): Promise<{ status: string; seen: string[] }> {
  const seen: string[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { body } = await api<{ status: string }>('GET', `/api/v1/services/${id}/status`);
    if (seen[seen.length - 1] !== body.status) seen.push(body.status);
    if (wanted.includes(body.status)) return { status: body.status, seen };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(
    `service ${id} did not reach ${wanted.join('/')} within ${timeoutMs} ms; saw ${seen.join(' → ')}`,
  );
}

export async function waitUntil(
  condition: () => boolean,
  timeoutMs: number,
  refresh?: () => Promise<void>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (refresh) await refresh();
    if (condition()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
