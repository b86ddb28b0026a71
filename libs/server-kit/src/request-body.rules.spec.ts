import type { NextFunction, Request, Response } from 'express';
import { BadRequestError, UnsupportedMediaTypeError } from './errors';
import {
  jsonContentTypeMiddleware,
  jsonParseErrorMiddleware,
  MAX_BODY_ARRAY_LENGTH,
  MAX_BODY_DEPTH,
  requestBodyProblem,
} from './request-body.rules';

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let level = 1; level < depth; level += 1) value = { a: value };
  return value;
}

describe('requestBodyProblem', () => {
  it('accepts ordinary bodies, and no body at all', () => {
    expect(requestBodyProblem(undefined)).toBeUndefined();
    expect(requestBodyProblem({})).toBeUndefined();
    expect(
      requestBodyProblem({ points: [{ id: 1, vector: [0.1, 0.2], payload: { text: 'x', tags: ['a'] } }] }),
    ).toBeUndefined();
    expect(requestBodyProblem({ prototype: 1, toString: 'x', hasOwnProperty: null })).toBeUndefined();
  });

  it.each([
    [null, 'null'],
    [[], 'an array'],
    [12, 'a number'],
    ['x', 'a string'],
    [true, 'a boolean'],
  ])('refuses %p: a body is a JSON object', (body, kind) => {
    expect(requestBodyProblem(body)).toBe(`Request body must be a JSON object, got ${kind}`);
  });

  it(`accepts ${MAX_BODY_DEPTH} levels of nesting and refuses one more, saying where`, () => {
    expect(requestBodyProblem(nested(MAX_BODY_DEPTH))).toBeUndefined();
    expect(
      requestBodyProblem({ stop: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]] }),
    ).toMatch(/^Request body is nested more than 32 levels deep \(at stop\.0\.0/);
    expect(requestBodyProblem(nested(MAX_BODY_DEPTH + 2))).toMatch(
      /nested more than 32 levels deep \(at a\.a\.a/,
    );
  });

  it('survives a nesting that would overflow a recursive walk', () => {
    const text = `{"a":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    expect(requestBodyProblem(JSON.parse(text))).toMatch(/nested more than/);
  });

  it.each(['__proto__', 'constructor'])('refuses the key %s anywhere, naming where', (key) => {
    const top = JSON.parse(`{"${key}": {"x": 1}}`) as unknown;
    expect(requestBodyProblem(top)).toBe(
      `Request body uses the key "${key}" (at the top level); the keys __proto__ and constructor are not accepted anywhere in a body`,
    );
    const deep = JSON.parse(`{"config": {"environment": {"${key}": "x"}}}`) as unknown;
    expect(requestBodyProblem(deep)).toMatch(`(at config.environment)`);
    const inArray = JSON.parse(`{"points": [{"id": 1}, {"payload": {"${key}": 1}}]}`) as unknown;
    expect(requestBodyProblem(inArray)).toMatch(`(at points.1.payload)`);
  });

  it(`refuses an array of more than ${MAX_BODY_ARRAY_LENGTH} items before anything validates it`, () => {
    expect(
      requestBodyProblem({ query_vector: new Array<number>(MAX_BODY_ARRAY_LENGTH).fill(1) }),
    ).toBeUndefined();
    const huge = { query_vector: new Array<number>(3_000_000).fill(0.5) };
    const started = performance.now();
    expect(requestBodyProblem(huge)).toBe(
      `Request body has an array of 3000000 items (at query_vector); at most ${MAX_BODY_ARRAY_LENGTH} are accepted`,
    );
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('walks a large vector body quickly', () => {
    const body = {
      points: Array.from({ length: 2_000 }, (_, id) => ({ id, vector: new Array<number>(384).fill(0.5) })),
    };
    const started = performance.now();
    expect(requestBodyProblem(body)).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('jsonContentTypeMiddleware', () => {
  function run(headers: Record<string, string>, isJson: boolean): unknown {
    const req = { headers, is: () => (isJson ? 'application/json' : false) } as unknown as Request;
    let passed: unknown = 'not called';
    jsonContentTypeMiddleware(
      req,
      {} as Response,
      ((error?: unknown) => {
        passed = error;
      }) as NextFunction,
    );
    return passed;
  }

  it('lets JSON bodies and bodiless requests through', () => {
    expect(run({ 'content-type': 'application/json', 'content-length': '2' }, true)).toBeUndefined();
    expect(run({}, false)).toBeUndefined();
    expect(run({ 'content-length': '0' }, false)).toBeUndefined();
  });

  it('refuses any other body with a 415 naming the type sent', () => {
    const error = run({ 'content-type': 'text/plain', 'content-length': '5' }, false);
    expect(error).toBeInstanceOf(UnsupportedMediaTypeError);
    expect((error as Error).message).toBe(
      'Request bodies must be JSON sent with "Content-Type: application/json" (got "text/plain")',
    );
    expect((run({ 'transfer-encoding': 'chunked' }, false) as Error).message).toContain('no Content-Type');
  });
});

describe('jsonParseErrorMiddleware', () => {
  function run(error: unknown): unknown {
    let passed: unknown;
    jsonParseErrorMiddleware(
      error,
      {} as Request,
      {} as Response,
      ((next?: unknown) => {
        passed = next;
      }) as NextFunction,
    );
    return passed;
  }

  const parseError = (body: string, message: string): Error =>
    Object.assign(new SyntaxError(message), { type: 'entity.parse.failed', body, status: 400 });

  it('says that a bare JSON value is not an object, rather than "not valid JSON"', () => {
    const answer = run(parseError(' null', `Unexpected token 'n', "null" is not valid JSON`));
    expect(answer).toBeInstanceOf(BadRequestError);
    expect((answer as Error).message).toBe(
      'Request body must be a JSON object, got the bare JSON value "null"',
    );
  });

  it('keeps the parser message for text that is not JSON', () => {
    const answer = run(parseError('{bad', "Expected property name or '}' in JSON at position 1"));
    expect((answer as Error).message).toBe(
      "Request body is not valid JSON: Expected property name or '}' in JSON at position 1",
    );
  });

  it('passes every other error on untouched', () => {
    const other = Object.assign(new Error('too large'), { type: 'entity.too.large' });
    expect(run(other)).toBe(other);
  });
});
