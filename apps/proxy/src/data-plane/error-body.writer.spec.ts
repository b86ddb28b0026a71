import { AppError } from '@aiplane/server-kit';
import { loadProxyConfig } from '../proxy.config';
import { NotReadyError } from '../routing/workload.resolver';
import { errorAnswer, retryAfterSeconds } from './error-body.writer';

describe('Retry-After of a service that is not ready', () => {
  const config = { RETRY_AFTER_PENDING_S: 30, RETRY_AFTER_CONFIGURING_S: 10 };
  const now = Date.parse('2026-12-03T22:00:00.000Z');
  const inSeconds = (seconds: number): string => new Date(now + seconds * 1000).toISOString();

  it("pending with the scheduler's estimate: until then, plus the recipe's observed start-up", () => {
    expect(
      retryAfterSeconds('pending', config, { estimatedStart: inSeconds(120), startupSeconds: 45 }, now),
    ).toBe(165);
    // A part of a second still to wait is a whole one.
    expect(
      retryAfterSeconds('pending', config, { estimatedStart: inSeconds(0.2), startupSeconds: 5 }, now),
    ).toBe(6);
  });

  it('pending with an estimate but no observed start-up: the configured allowance for start-up', () => {
    expect(
      retryAfterSeconds('pending', config, { estimatedStart: inSeconds(60), startupSeconds: null }, now),
    ).toBe(70);
  });

  it('an estimate already passed leaves only the start-up', () => {
    expect(
      retryAfterSeconds('pending', config, { estimatedStart: inSeconds(-300), startupSeconds: 8 }, now),
    ).toBe(8);
  });

  it("without an estimate: the recipe's observed start-up, else the configured seconds per status", () => {
    expect(retryAfterSeconds('pending', config, { estimatedStart: null, startupSeconds: 40 }, now)).toBe(40);
    expect(retryAfterSeconds('pending', config, { estimatedStart: null, startupSeconds: null }, now)).toBe(
      30,
    );
    expect(retryAfterSeconds('pending', config, undefined, now)).toBe(30);
    expect(retryAfterSeconds('configuring', config, { estimatedStart: null, startupSeconds: 40 }, now)).toBe(
      40,
    );
    expect(retryAfterSeconds('configuring', config, undefined, now)).toBe(10);
  });

  it('nothing for a service that ended', () => {
    for (const status of ['cancelled', 'failed', 'completed', 'timeout'] as const)
      expect(
        retryAfterSeconds(status, config, { estimatedStart: inSeconds(60), startupSeconds: 5 }, now),
      ).toBeUndefined();
  });

  it("a NotReadyError's answer: 503, Retry-After from its hint, the queue in the body", () => {
    const proxyConfig = loadProxyConfig({ PROXY_TOKEN: 'x'.repeat(43) });
    const queue = {
      position: 1,
      reason: 'Resources',
      estimated_start: new Date(Date.now() + 600_000).toISOString(),
    };
    const answer = errorAnswer(
      new NotReadyError('7', 'pending', queue, { estimatedStart: queue.estimated_start, startupSeconds: 20 }),
      proxyConfig,
    );
    expect(answer.status).toBe(503);
    expect(answer.details).toEqual({ status: 'pending', queue });
    const seconds = Number(answer.headers['retry-after']);
    expect(seconds).toBeGreaterThanOrEqual(619);
    expect(seconds).toBeLessThanOrEqual(621);
    // Any other 503 naming a status keeps the configured seconds.
    const plain = errorAnswer(
      new AppError(503, 'Service not ready', 'x', { status: 'configuring' }),
      proxyConfig,
    );
    expect(plain.headers['retry-after']).toBe(String(proxyConfig.RETRY_AFTER_CONFIGURING_S));
  });
});
