import { EventEmitter } from 'node:events';
import type { NextFunction, Request, Response } from 'express';
import { currentRequestId, nestRequestsInFlight, requestIdMiddleware } from './request-context';

function fakeExchange(id: string): { req: Request; res: Response & EventEmitter } {
  const req = { headers: { 'x-request-id': id } } as unknown as Request;
  const res = Object.assign(new EventEmitter(), { setHeader: () => undefined }) as unknown as Response &
    EventEmitter;
  return { req, res };
}

const ticks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A request whose handler reads its id now and again when `later()` is called: the second read
 * says whether the context is still on (a disabled storage reads undefined everywhere).
 */
function serve(id: string): {
  res: EventEmitter;
  now: () => string | undefined;
  later: () => Promise<string | undefined>;
} {
  const { req, res } = fakeExchange(id);
  let now: string | undefined;
  let release: () => void = () => undefined;
  let read: Promise<string | undefined> = Promise.resolve(undefined);
  const next: NextFunction = () => {
    now = currentRequestId();
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    read = gate.then(() => currentRequestId());
  };
  requestIdMiddleware(req, res, next);
  return {
    res,
    now: () => now,
    later: () => {
      release();
      return read;
    },
  };
}

describe('requestIdMiddleware', () => {
  it('keeps the request id while any Nest request is in flight and turns the async contexts off after the last', async () => {
    const before = nestRequestsInFlight();
    const first = serve('first-id');
    const second = serve('second-id');
    expect([first.now(), second.now()]).toEqual(['first-id', 'second-id']);
    expect(nestRequestsInFlight()).toBe(before + 2);

    first.res.emit('close');
    await ticks();
    expect(nestRequestsInFlight()).toBe(before + 1);
    // The second request is still being served: its context survives the first one's end.
    expect(await second.later()).toBe('second-id');

    const third = serve('third-id');
    second.res.emit('close');
    third.res.emit('close');
    await ticks();
    expect(nestRequestsInFlight()).toBe(before);
    // Off: the promise hooks that every promise of the process would pay for are gone with it.
    expect(await third.later()).toBeUndefined();

    // And on again for the next request.
    const fourth = serve('fourth-id');
    expect(fourth.now()).toBe('fourth-id');
    expect(await fourth.later()).toBe('fourth-id');
    fourth.res.emit('close');
    await ticks();
    expect(nestRequestsInFlight()).toBe(before);
  });
});
