import fc from 'fast-check';
import type { ArgumentMetadata } from '@nestjs/common';
import { BadRequestError } from './errors';
import { NamePipe, OptionalIntPipe, OptionalTextPipe, ServiceIdPipe } from './params.pipe';

const param = (data: string): ArgumentMetadata => ({ type: 'param', data });

describe('ServiceIdPipe', () => {
  const pipe = new ServiceIdPipe();

  it.each(['1', '3652098', 'sg-3652098', '123456789012'])('accepts %s', (id) => {
    expect(pipe.transform(id, param('id'))).toBe(id);
  });

  it.each(['', 'abc', 'sg-', 'SG-1', '1234567890123', '1/2', '3652098:8001', ' 1', undefined, 12])(
    'rejects %p with a message naming the parameter',
    (id) => {
      expect(() => pipe.transform(id, param('id'))).toThrow(BadRequestError);
      expect(() => pipe.transform(id, param('id'))).toThrow(/^id must be a service id/);
    },
  );
});

describe('NamePipe', () => {
  const pipe = new NamePipe();

  it.each(['my_documents', 'vllm-single-node', 'Qwen2.5-7B-Instruct', 'a', 'x'.repeat(128), '.hidden'])(
    'accepts %s',
    (name) => {
      expect(pipe.transform(name, param('name'))).toBe(name);
    },
  );

  it.each(['.', '..', '...', '', 'a b', 'a/b', 'a%2Fb', 'x'.repeat(129), 'ü'])('rejects %p', (name) => {
    expect(() => pipe.transform(name, param('name'))).toThrow(/^name must be 1-128 characters/);
  });

  it('never lets through anything that would need encoding in a path', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 140 }), (name) => {
        try {
          const accepted = pipe.transform(name, param('name'));
          return encodeURIComponent(accepted) === accepted && !/^\.+$/.test(accepted);
        } catch (error) {
          return error instanceof BadRequestError;
        }
      }),
    );
  });
});

describe('query pipes', () => {
  it('OptionalIntPipe keeps absent values absent and bounds the rest', () => {
    const pipe = new OptionalIntPipe(1, 100);
    const query: ArgumentMetadata = { type: 'query', data: 'limit' };
    expect(pipe.transform(undefined, query)).toBeUndefined();
    expect(pipe.transform('7', query)).toBe(7);
    expect(() => pipe.transform('0', query)).toThrow(/limit must be a whole number from 1 to 100/);
    expect(() => pipe.transform('101', query)).toThrow(BadRequestError);
    expect(() => pipe.transform('1.5', query)).toThrow(BadRequestError);
    expect(() => pipe.transform(['1', '2'], query)).toThrow(BadRequestError);
  });

  it('OptionalTextPipe bounds length and shape', () => {
    const pipe = new OptionalTextPipe(5, /^[a-z]+$/);
    const query: ArgumentMetadata = { type: 'query', data: 'sort_by' };
    expect(pipe.transform('', query)).toBeUndefined();
    expect(pipe.transform('likes', query)).toBe('likes');
    expect(() => pipe.transform('downloads', query)).toThrow(/at most 5 characters/);
    expect(() => pipe.transform('a-b', query)).toThrow(BadRequestError);
  });
});
