/**
 * One readiness check: any 2xx within the timeout. Redirects are not followed: a probe asks one URL.
 * `headers` carry the workload's key, so a process that took over the port does not pass for it.
 */
export async function probeReadiness(
  url: string,
  timeoutMs: number,
  headers: Record<string, string> = {},
): Promise<boolean> {
  try {
    const response = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'manual',
      headers,
    });
    await response.body?.cancel();
    return response.status >= 200 && response.status < 300;
  } catch {
    return false;
  }
}
