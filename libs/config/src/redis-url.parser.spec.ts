import { z } from 'zod';
import { parseConfig } from './config';
import { describeRedisTarget, parseRedisUrl, redactRedisUrl, RedisUrlError } from './redis-url.parser';
import { redisEnvFields } from './redis.schema';

describe('parseRedisUrl', () => {
  it.each([
    ['redis://127.0.0.1:6379', { transport: 'tcp', host: '127.0.0.1', port: 6379, db: 0 }],
    ['redis://localhost', { transport: 'tcp', host: 'localhost', port: 6379, db: 0 }],
    [
      'redis://:s3cret@127.0.0.1:7000/2',
      { transport: 'tcp', host: '127.0.0.1', port: 7000, db: 2, password: 's3cret' },
    ],
    [
      'redis://aiplane:p%40ss%2Fw%3Ad@[::1]:6380',
      { transport: 'tcp', host: '::1', port: 6380, db: 0, username: 'aiplane', password: 'p@ss/w:d' },
    ],
    [
      'unix:///run/user/1000/aiplane/redis.sock',
      { transport: 'unix', path: '/run/user/1000/aiplane/redis.sock', db: 0 },
    ],
    ['unix://:abc@/tmp/r.sock', { transport: 'unix', path: '/tmp/r.sock', db: 0, password: 'abc' }],
    [
      'unix://worker:p%40ss@/tmp/r.sock?db=3',
      { transport: 'unix', path: '/tmp/r.sock', db: 3, username: 'worker', password: 'p@ss' },
    ],
  ])('parses %s', (url, expected) => {
    expect(parseRedisUrl(url)).toEqual(expected);
  });

  it.each([
    ['http://127.0.0.1:6379', /redis:\/\/ .*unix:\/\//],
    ['rediss://:pw@host:6380', /TLS/],
    ['redis://:pw@host:6379/16', /database "16"/],
    ['redis://:pw@host:6379/x', /database "x"/],
    ['redis://:pw@host:6379?db=1', /no query/],
    ['redis://someone@host:6379', /user someone but no password/],
    ['redis://:@host:6379', /empty password/],
    ['unix://relative/redis.sock', /third slash/],
    ['unix://:pw@/tmp/r.sock?timeout=1', /only the query parameter db/],
    ['unix://:%E0%A4%A@/tmp/r.sock', /percent-encoded password/],
  ])('refuses %s, naming the problem', (url, message) => {
    expect(() => parseRedisUrl(url)).toThrow(RedisUrlError);
    expect(() => parseRedisUrl(url)).toThrow(message);
  });

  it('never repeats the password in an error or a description', () => {
    const secret = 'hunter2-very-secret';
    for (const url of [`redis://:${secret}@host:6379/99`, `unix://:${secret}@/tmp/r.sock?x=1`]) {
      expect(() => parseRedisUrl(url)).toThrow();
      try {
        parseRedisUrl(url);
      } catch (error) {
        expect(String(error)).not.toContain(secret);
      }
    }
    expect(redactRedisUrl(`redis://u:${secret}@h:1/3`)).toBe('redis://u:***@h:1/3');
    expect(redactRedisUrl(`unix://:${secret}@/tmp/r.sock?db=2`)).toBe('unix://:***@/tmp/r.sock?db=2');
    expect(redactRedisUrl(`rediss://:${secret}@h`)).toBe('<invalid Redis URL>');
  });

  it('describes what it parsed the way it would parse it back', () => {
    for (const url of ['redis://127.0.0.1:6379', 'redis://[::1]:6380/4', 'unix:///tmp/r.sock?db=1']) {
      expect(describeRedisTarget(parseRedisUrl(url))).toBe(url);
    }
  });
});

describe('redisEnvFields', () => {
  const schema = z.object(redisEnvFields);

  it('defaults to the local Redis with both overrides off', () => {
    expect(parseConfig('spec', schema, {})).toEqual({
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_ALLOW_NO_AUTH: false,
      REDIS_SKIP_POLICY_CHECK: false,
    });
  });

  it('takes the overrides only as explicit booleans', () => {
    const config = parseConfig('spec', schema, { REDIS_ALLOW_NO_AUTH: 'true', REDIS_SKIP_POLICY_CHECK: '' });
    expect(config.REDIS_ALLOW_NO_AUTH).toBe(true);
    expect(config.REDIS_SKIP_POLICY_CHECK).toBe(false);
    expect(() => parseConfig('spec', schema, { REDIS_ALLOW_NO_AUTH: 'sure' })).toThrow(/REDIS_ALLOW_NO_AUTH/);
  });

  it('fails a bad REDIS_URL with the app config errors, without echoing it', () => {
    expect(() => parseConfig('spec', schema, { REDIS_URL: 'redis://admin@h' })).toThrow(
      /REDIS_URL: names the user admin but no password/,
    );
    expect(() => parseConfig('spec', schema, { REDIS_URL: 'redis://:topsecret@h/77' })).not.toThrow(
      /topsecret/,
    );
  });
});
