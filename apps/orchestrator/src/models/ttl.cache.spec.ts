import { TtlCache } from './ttl.cache';

describe('TtlCache', () => {
  let now = 0;
  const clock = () => now;

  beforeEach(() => {
    now = 1_000;
  });

  it('reuses a value until its time to live has passed', async () => {
    const cache = new TtlCache<number>(100, 10, clock);
    const load = jest.fn(() => Promise.resolve(now));
    expect(await cache.getOrLoad('k', load)).toBe(1_000);
    now += 99;
    expect(await cache.getOrLoad('k', load)).toBe(1_000);
    now += 1;
    expect(await cache.getOrLoad('k', load)).toBe(1_100);
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('keeps at most maxEntries, dropping the least recently used', async () => {
    const cache = new TtlCache<string>(1_000, 2, clock);
    await cache.getOrLoad('a', () => Promise.resolve('a'));
    await cache.getOrLoad('b', () => Promise.resolve('b'));
    await cache.getOrLoad('a', () => Promise.resolve('stale'));
    await cache.getOrLoad('c', () => Promise.resolve('c'));
    expect(cache.size).toBe(2);
    expect(await cache.getOrLoad('a', () => Promise.resolve('reloaded'))).toBe('a');
    expect(await cache.getOrLoad('b', () => Promise.resolve('reloaded'))).toBe('reloaded');
  });

  it('shares one load between concurrent misses and never keeps a failure', async () => {
    const cache = new TtlCache<string>(1_000, 10, clock);
    let release: (value: string) => void = () => undefined;
    const load = jest.fn(() => new Promise<string>((resolve) => (release = resolve)));
    const both = Promise.all([cache.getOrLoad('k', load), cache.getOrLoad('k', load)]);
    release('v');
    expect(await both).toEqual(['v', 'v']);
    expect(load).toHaveBeenCalledTimes(1);

    await expect(cache.getOrLoad('bad', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.getOrLoad('bad', () => Promise.resolve('up'))).toBe('up');
  });

  it('stores nothing when the time to live is 0', async () => {
    const cache = new TtlCache<number>(0, 10, clock);
    const load = jest.fn(() => Promise.resolve(1));
    await cache.getOrLoad('k', load);
    await cache.getOrLoad('k', load);
    expect(load).toHaveBeenCalledTimes(2);
    expect(cache.size).toBe(0);
  });
});
