import fc from 'fast-check';
import { upstreamPath, withQuery } from './upstream-path';

describe('upstreamPath', () => {
  it('prefixes /api and keeps literal parts', () => {
    expect(upstreamPath`/services/start`).toBe('/api/services/start');
    expect(upstreamPath`/services/${'3652098'}/status`).toBe('/api/services/3652098/status');
    expect(upstreamPath`/recipes/${'inference'}/${'vllm'}`).toBe('/api/recipes/inference/vllm');
  });

  it('encodes each segment so it cannot add a path segment, a query or a fragment', () => {
    expect(upstreamPath`/services/${'../admin?x=1#y'}/status`).toBe(
      '/api/services/..%2Fadmin%3Fx%3D1%23y/status',
    );
    fc.assert(
      fc.property(fc.string(), (segment) => {
        const path = upstreamPath`/a/${segment}/b`;
        const inner = path.slice('/api/a/'.length, -'/b'.length);
        return !/[/?#]/.test(inner) && decodeURIComponent(inner) === segment;
      }),
    );
  });
});

describe('withQuery', () => {
  it('drops absent values and encodes the rest', () => {
    expect(withQuery('/api/x', {})).toBe('/api/x');
    expect(withQuery('/api/x', { a: undefined })).toBe('/api/x');
    expect(withQuery('/api/x', { query: 'qwen coder&x', limit: 5 })).toBe(
      '/api/x?query=qwen+coder%26x&limit=5',
    );
  });
});
