import { Redis } from 'ioredis';
import { describeRedisTarget, parseRedisUrl, type RedisSettings, type RedisTarget } from '@aiplane/config';
import { redisOptionsOf } from './redis.connection';
import { RedisSafetyError } from './redis-safety.errors';
import {
  isAuthError,
  noAuthRefusal,
  openServerRefusal,
  policyRefusal,
  policyUnknownRefusal,
} from './redis-safety.rules';

/** The few commands the start-up check sends; unit specs stand a fake in for Redis here. */
export interface RedisProbeClient {
  ping(): Promise<string>;
  config(subcommand: 'GET', parameter: string): Promise<unknown>;
  disconnect(): void;
}

export type RedisProbeConnector = (target: RedisTarget) => RedisProbeClient;

/**
 * Refuses (throws RedisSafetyError) a Redis that anyone may use, or that may evict records: run by
 * every app before it touches a record, so one that would lose or leak jobs never starts.
 */
export async function checkRedisSafety(
  settings: RedisSettings,
  connect: RedisProbeConnector = connectForProbe,
): Promise<void> {
  const target = parseRedisUrl(settings.REDIS_URL);
  const refused = noAuthRefusal(target, settings.REDIS_ALLOW_NO_AUTH);
  if (refused) throw refused;
  const client = connect(target);
  try {
    await ping(client, target);
    if (target.password !== undefined && !settings.REDIS_ALLOW_NO_AUTH)
      await refuseOpenServer(target, connect);
    if (!settings.REDIS_SKIP_POLICY_CHECK) await checkPolicy(client, target);
  } finally {
    client.disconnect();
  }
}

async function ping(client: RedisProbeClient, target: RedisTarget): Promise<void> {
  try {
    await client.ping();
  } catch (error) {
    const message = messageOf(error);
    if (isAuthError(message)) {
      throw new RedisSafetyError(
        'REDIS_AUTH_FAILED',
        `the Redis at ${describeRedisTarget(target)} refused the credentials in REDIS_URL (${message})`,
      );
    }
    throw new RedisSafetyError(
      'REDIS_UNREACHABLE',
      `could not reach the Redis at ${describeRedisTarget(target)} to check it (${message})`,
    );
  }
}

async function refuseOpenServer(target: RedisTarget, connect: RedisProbeConnector): Promise<void> {
  const anonymous = connect({ ...target, username: undefined, password: undefined });
  let answered: string | undefined;
  try {
    answered = await anonymous.ping();
  } catch {
    // NOAUTH is the answer we want; any other failure says nothing about the server's auth.
  } finally {
    anonymous.disconnect();
  }
  if (answered !== undefined) throw openServerRefusal(target);
}

async function checkPolicy(client: RedisProbeClient, target: RedisTarget): Promise<void> {
  let reply: unknown;
  try {
    reply = await client.config('GET', 'maxmemory-policy');
  } catch (error) {
    throw policyUnknownRefusal(target, messageOf(error));
  }
  // RESP2 answers [name, value]; RESP3 a map, which ioredis hands over as an object.
  const value: unknown = Array.isArray(reply)
    ? reply[1]
    : typeof reply === 'object' && reply !== null
      ? (reply as Record<string, unknown>)['maxmemory-policy']
      : undefined;
  const refused = policyRefusal(target, typeof value === 'string' ? value : undefined);
  if (refused) throw refused;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A short-lived connection that gives up after a few seconds instead of retrying forever. */
function connectForProbe(target: RedisTarget): RedisProbeClient {
  const client = new Redis({
    ...redisOptionsOf(target),
    connectTimeout: 3_000,
    maxRetriesPerRequest: 3,
    retryStrategy: (attempt) => (attempt > 3 ? null : 300 * attempt),
  });
  // Failures surface as rejected commands; without a listener ioredis would also print each one.
  client.on('error', () => undefined);
  return client;
}
