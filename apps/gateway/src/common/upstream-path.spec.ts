import { withQuery } from './upstream-path';

describe('withQuery', () => {
  it('drops absent values and encodes the rest', () => {
    expect(withQuery('/api/x', {})).toBe('/api/x');
    expect(withQuery('/api/x', { a: undefined })).toBe('/api/x');
    expect(withQuery('/api/x', { query: 'qwen coder&x', limit: 5 })).toBe(
      '/api/x?query=qwen+coder%26x&limit=5',
    );
  });
});
