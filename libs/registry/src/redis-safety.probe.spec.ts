import type { RedisTarget } from '@aiplane/config';
import { checkRedisSafety, type RedisProbeClient } from './redis-safety.probe';
import { RedisSafetyError } from './redis-safety.errors';

/** A Redis as the check sees it: whether it wants a password, and what CONFIG answers. */
interface FakeServer {
  password?: string;
  policy?: string;
  configError?: string;
  down?: boolean;
}

function connector(server: FakeServer): {
  connect: (target: RedisTarget) => RedisProbeClient;
  opened: RedisTarget[];
  closed: number;
} {
  const state = { opened: [] as RedisTarget[], closed: 0 };
  const connect = (target: RedisTarget): RedisProbeClient => {
    state.opened.push(target);
    const authed = server.password === undefined || server.password === target.password;
    const guard = (): void => {
      if (server.down) throw new Error('connect ECONNREFUSED');
      if (!authed) {
        throw new Error(
          target.password ? 'WRONGPASS invalid username-password pair' : 'NOAUTH Authentication required.',
        );
      }
    };
    return {
      ping: () => {
        guard();
        return Promise.resolve('PONG');
      },
      config: () => {
        guard();
        if (server.configError) return Promise.reject(new Error(server.configError));
        return Promise.resolve(['maxmemory-policy', server.policy ?? 'noeviction']);
      },
      disconnect: () => {
        state.closed += 1;
      },
    };
  };
  return {
    connect,
    get opened() {
      return state.opened;
    },
    get closed() {
      return state.closed;
    },
  };
}

const settings = (url: string, overrides: Partial<{ allow: boolean; skip: boolean }> = {}) => ({
  REDIS_URL: url,
  REDIS_ALLOW_NO_AUTH: overrides.allow ?? false,
  REDIS_SKIP_POLICY_CHECK: overrides.skip ?? false,
});

async function refusal(promise: Promise<void>): Promise<RedisSafetyError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RedisSafetyError) return error;
    throw error;
  }
  throw new Error('the check passed');
}

describe('checkRedisSafety', () => {
  const SECRET = 'a-password-of-some-length';

  it('passes a Redis that wants the password in the URL and never evicts', async () => {
    const fake = connector({ password: SECRET });
    await expect(
      checkRedisSafety(settings(`unix://:${SECRET}@/tmp/r.sock`), fake.connect),
    ).resolves.toBeUndefined();
    expect(fake.closed).toBe(fake.opened.length);
  });

  it('refuses a URL without a password before connecting, naming the override', async () => {
    const fake = connector({});
    const error = await refusal(checkRedisSafety(settings('redis://127.0.0.1:6379'), fake.connect));
    expect(error.code).toBe('REDIS_NO_AUTH');
    expect(error.message).toContain('REDIS_ALLOW_NO_AUTH=true');
    expect(fake.opened).toHaveLength(0);
  });

  it('starts without a password only when told so explicitly', async () => {
    const fake = connector({});
    await expect(
      checkRedisSafety(settings('redis://127.0.0.1:6379', { allow: true }), fake.connect),
    ).resolves.toBeUndefined();
  });

  it('refuses a Redis that answers clients without a password though the URL has one', async () => {
    const fake = connector({});
    const error = await refusal(checkRedisSafety(settings(`redis://:${SECRET}@h:1`), fake.connect));
    expect(error.code).toBe('REDIS_NO_AUTH');
    expect(error.message).toMatch(/answers clients that give no password/);
    expect(error.message).not.toContain(SECRET);
  });

  it('refuses a wrong password, without printing it', async () => {
    const fake = connector({ password: 'the-right-one' });
    const error = await refusal(checkRedisSafety(settings(`redis://:${SECRET}@h:1`), fake.connect));
    expect(error.code).toBe('REDIS_AUTH_FAILED');
    expect(error.message).not.toContain(SECRET);
  });

  it('refuses an unreachable Redis', async () => {
    const error = await refusal(
      checkRedisSafety(settings(`redis://:${SECRET}@h:1`), connector({ down: true }).connect),
    );
    expect(error.code).toBe('REDIS_UNREACHABLE');
  });

  it.each(['allkeys-lru', 'volatile-lru', 'allkeys-random', 'volatile-ttl'])(
    'refuses maxmemory-policy %s',
    async (policy) => {
      const error = await refusal(
        checkRedisSafety(settings(`redis://:${SECRET}@h:1`), connector({ password: SECRET, policy }).connect),
      );
      expect(error.code).toBe('REDIS_EVICTION_POLICY');
      expect(error.message).toContain(`maxmemory-policy ${policy}`);
      expect(error.message).toContain('noeviction');
    },
  );

  it('refuses when CONFIG is unavailable, naming REDIS_SKIP_POLICY_CHECK; skips the check when told', async () => {
    const server = { password: SECRET, configError: "ERR unknown command 'CONFIG'" };
    const error = await refusal(
      checkRedisSafety(settings(`redis://:${SECRET}@h:1`), connector(server).connect),
    );
    expect(error.code).toBe('REDIS_POLICY_UNKNOWN');
    expect(error.message).toContain('REDIS_SKIP_POLICY_CHECK=true');
    await expect(
      checkRedisSafety(settings(`redis://:${SECRET}@h:1`, { skip: true }), connector(server).connect),
    ).resolves.toBeUndefined();
  });

  it('does not let REDIS_SKIP_POLICY_CHECK skip authentication', async () => {
    const error = await refusal(
      checkRedisSafety(settings('redis://h:1', { skip: true }), connector({ policy: 'allkeys-lru' }).connect),
    );
    expect(error.code).toBe('REDIS_NO_AUTH');
  });
});
