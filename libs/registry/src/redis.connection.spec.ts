import { parseRedisUrl } from '@aiplane/config';
import { redisOptionsOf } from './redis.connection';

describe('redisOptionsOf', () => {
  it('connects to a Unix socket with the password and db of a unix:// URL', () => {
    expect(redisOptionsOf(parseRedisUrl('unix://:pw@/run/aiplane/redis.sock?db=2'))).toEqual({
      path: '/run/aiplane/redis.sock',
      db: 2,
      password: 'pw',
    });
  });

  it('connects over TCP as an ACL user', () => {
    expect(redisOptionsOf(parseRedisUrl('redis://worker:p%40ss@10.0.0.5:6380/1'))).toEqual({
      host: '10.0.0.5',
      port: 6380,
      db: 1,
      username: 'worker',
      password: 'p@ss',
    });
  });

  it('sends no credentials when the URL has none', () => {
    expect(redisOptionsOf(parseRedisUrl('redis://127.0.0.1:6379'))).toEqual({
      host: '127.0.0.1',
      port: 6379,
      db: 0,
    });
  });
});
