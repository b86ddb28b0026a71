import type { ArgumentsHost } from '@nestjs/common';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors';
import { HttpErrorFilter } from './http-error.filter';
import type { Logger } from './logging';
import { isStoreUnavailable, STORE_UNAVAILABLE_MESSAGE } from './store-unavailable';

function answer(exception: unknown): {
  status: number;
  body: Record<string, unknown>;
  warned: number;
  headers: Record<string, string>;
} {
  const sent = { status: 0, body: {} as Record<string, unknown>, headers: {} as Record<string, string> };
  const res = {
    headersSent: false,
    setHeader(name: string, value: string) {
      sent.headers[name] = value;
      return this;
    },
    status(code: number) {
      sent.status = code;
      return this;
    },
    json(body: Record<string, unknown>) {
      sent.body = body;
      return this;
    },
  };
  const host = { switchToHttp: () => ({ getResponse: () => res }) } as unknown as ArgumentsHost;
  let warned = 0;
  const logger = { warn: () => (warned += 1), error: () => undefined } as unknown as Logger;
  new HttpErrorFilter(logger).catch(exception, host);
  return { ...sent, warned };
}

describe('isStoreUnavailable', () => {
  it.each([
    ['the client gave up reconnecting', new MaxRetriesPerRequestError(2)],
    ['the connection was closed under the command', new Error('Connection is closed.')],
    ['Redis is replaying its AOF', new Error('LOADING Redis is loading the dataset in memory')],
    ['Redis is out of memory', new Error("OOM command not allowed when used memory > 'maxmemory'.")],
    ['Redis is a replica', new Error("READONLY You can't write against a read only replica.")],
    [
      'Redis cannot save',
      new Error(
        'MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist on disk.',
      ),
    ],
  ])('recognises %s', (_why, error) => {
    expect(isStoreUnavailable(error)).toBe(true);
  });

  it.each([
    ['a programming error', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a refused command', new Error('WRONGTYPE Operation against a key holding the wrong kind of value')],
    ['not an error', 'Connection is closed.'],
  ])('does not take %s for an outage', (_why, error) => {
    expect(isStoreUnavailable(error)).toBe(false);
  });
});

describe('HttpErrorFilter and an unreachable store', () => {
  it('answers 503 with a message a person can act on, and logs a warning, not an error', () => {
    const { status, body, warned, headers } = answer(new MaxRetriesPerRequestError(2));
    expect(status).toBe(503);
    expect(body).toMatchObject({
      success: false,
      statusCode: 503,
      error: 'Service Unavailable',
      message: STORE_UNAVAILABLE_MESSAGE,
    });
    expect(warned).toBe(1);
    expect(headers).toEqual({ 'retry-after': '5' });
  });

  it.each([
    [
      "OOM command not allowed when used memory > 'maxmemory'.",
      /out of memory and refuses writes; nothing was changed/,
    ],
    ["READONLY You can't write against a read only replica.", /read-only replica/],
    ['MISCONF Redis is configured to save RDB snapshots', /cannot save to disk/],
  ])('says which refusal %s is, with Retry-After', (text, message) => {
    const { status, body, headers } = answer(new Error(text));
    expect(status).toBe(503);
    expect(body.message).toMatch(message);
    expect(headers['retry-after']).toBe('5');
  });

  it('still hides unknown errors behind a 500', () => {
    expect(answer(new Error('boom')).status).toBe(500);
  });
});
