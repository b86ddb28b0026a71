import { createLogger } from './logging';

/** What the logger writes for one call: redaction is about what reaches the log line. */
function logged(object: object): string {
  const lines: string[] = [];
  createLogger('test', 'info', { write: (line: string) => lines.push(line) }).info(
    object,
    'something happened',
  );
  return lines.join('');
}

const KEY = 'c2VjcmV0LWtleS1mb3ItdGhlLXdvcmtsb2Fk';

describe('createLogger redaction', () => {
  it.each([
    ['a stored record', { service: { id: '1', api_key: KEY } }],
    ['a record one level deeper', { target: { service: { api_key: KEY } } }],
    ['a submission', { submission: { api_keys: [KEY] } }],
    ['a job environment', { request: { env: { VLLM_API_KEY: KEY, QDRANT__SERVICE__API_KEY: KEY } } }],
    ['upstream headers', { upstream: { headers: { authorization: `Bearer ${KEY}`, 'api-key': KEY } } }],
    ['a top-level key', { api_key: KEY }],
  ])('keeps a workload API key out of %s', (_what, object) => {
    const line = logged(object);
    expect(line).toContain('something happened');
    expect(line).not.toContain(KEY);
  });

  it('still logs what is not a secret', () => {
    expect(logged({ service: { id: '1', api_key: KEY } })).toContain('"service":{"id":"1","api_key":"***"}');
  });
});
