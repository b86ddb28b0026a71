/** Appends only the parameters that have a value; everything else the client sent stays behind. */
export function withQuery(
  path: string,
  params: Readonly<Record<string, string | number | boolean | undefined>>,
): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) query.append(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}
