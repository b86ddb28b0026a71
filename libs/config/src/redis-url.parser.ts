import { z } from 'zod';

/**
 * Where a process finds Redis, and as whom. One shape for every app and for BullMQ:
 *
 * - `redis://[user:password@]host[:port][/db]` (TCP; `:password@` alone for `requirepass`);
 * - `unix://[user:password@]/absolute/path/redis.sock[?db=N]` (a Unix socket).
 *
 * Credentials are percent-encoded like any URL userinfo. There is no separate password variable:
 * the URL is the whole connection setting, so no hop can end up with the address but not the secret.
 */
export type RedisTarget =
  | ({ transport: 'tcp'; host: string; port: number } & RedisCredentials)
  | ({ transport: 'unix'; path: string } & RedisCredentials);

export interface RedisCredentials {
  db: number;
  /** An ACL user; absent means `default`. */
  username?: string;
  password?: string;
}

export class RedisUrlError extends Error {
  readonly code = 'INVALID_REDIS_URL';
}

const DEFAULT_PORT = 6379;
const MAX_DB = 15;
// userinfo, then an absolute path, then an optional query: unix://[user[:pass]@]/abs/path[?db=N]
const UNIX_URL = /^unix:\/\/(?:([^@/]*)@)?(\/[^?#]*)(?:\?([^#]*))?$/;

/** Parses a Redis URL; errors never repeat the URL, which may hold a password. */
export function parseRedisUrl(text: string): RedisTarget {
  if (text.startsWith('unix:')) return parseUnixUrl(text);
  if (!text.startsWith('redis://')) {
    throw new RedisUrlError(
      'must start with redis:// (TCP) or unix:// (a Unix socket, unix:///abs/path.sock); TLS (rediss://) is not supported',
    );
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RedisUrlError('is not a valid URL (percent-encode special characters in the password)');
  }
  if (url.search || url.hash)
    throw new RedisUrlError('takes no query or fragment on redis:// (the db is the path: /N)');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new RedisUrlError('names no host');
  const port = url.port ? Number(url.port) : DEFAULT_PORT;
  const dbText = url.pathname.replace(/^\//, '');
  return {
    transport: 'tcp',
    host,
    port,
    db: parseDb(dbText),
    // The URL class drops an empty userinfo ("redis://:@host"), which must still be refused.
    ...parseCredentials(url.username, url.password, /^redis:\/\/[^/]*@/.test(text)),
  };
}

function parseUnixUrl(text: string): RedisTarget {
  const match = UNIX_URL.exec(text);
  if (!match) {
    throw new RedisUrlError(
      'a Unix socket URL is unix://[user:password@]/absolute/path.sock[?db=N] (note the third slash)',
    );
  }
  const [, userinfo, socketPath = '', query] = match;
  let db = 0;
  if (query !== undefined && query !== '') {
    const params = new URLSearchParams(query);
    for (const key of params.keys()) {
      if (key !== 'db') throw new RedisUrlError(`takes only the query parameter db, not ${key}`);
    }
    db = parseDb(params.get('db') ?? '');
  }
  let username = '';
  let password = '';
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    username = colon === -1 ? userinfo : userinfo.slice(0, colon);
    password = colon === -1 ? '' : userinfo.slice(colon + 1);
  }
  return {
    transport: 'unix',
    path: decode(socketPath, 'socket path'),
    db,
    ...parseCredentials(username, password, userinfo !== undefined),
  };
}

function parseDb(text: string): number {
  if (text === '') return 0;
  if (!/^\d{1,2}$/.test(text) || Number(text) > MAX_DB) {
    throw new RedisUrlError(`names database "${text}"; expected a number from 0 to ${MAX_DB}`);
  }
  return Number(text);
}

function parseCredentials(
  rawUser: string,
  rawPassword: string,
  hasUserinfo: boolean,
): Pick<RedisCredentials, 'username' | 'password'> {
  if (!hasUserinfo) return {};
  const username = decode(rawUser, 'user name');
  const password = decode(rawPassword, 'password');
  // ioredis would send a lone user name as the password: a user without a password is a typo here.
  if (password === '') {
    throw new RedisUrlError(
      username === ''
        ? 'has an empty password (drop the "@" or give :password@)'
        : `names the user ${username} but no password (user:password@)`,
    );
  }
  return username === '' ? { password } : { username, password };
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new RedisUrlError(`has a badly percent-encoded ${what}`);
  }
}

/** The URL as logs and errors may show it: the password is never printed. */
export function describeRedisTarget(target: RedisTarget): string {
  const user = target.username ? encodeURIComponent(target.username) : '';
  const auth = target.password === undefined ? '' : `${user}:***@`;
  if (target.transport === 'unix') {
    return `unix://${auth}${target.path}${target.db === 0 ? '' : `?db=${target.db}`}`;
  }
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `redis://${auth}${host}:${target.port}${target.db === 0 ? '' : `/${target.db}`}`;
}

/** `describeRedisTarget` of a URL, or a placeholder for one that does not parse. */
export function redactRedisUrl(text: string): string {
  try {
    return describeRedisTarget(parseRedisUrl(text));
  } catch {
    return '<invalid Redis URL>';
  }
}

/** `REDIS_URL` in an app schema: checked here, so a bad URL fails with the other config errors. */
export const redisUrlFromEnv = z
  .string()
  .trim()
  .superRefine((value, ctx) => {
    try {
      parseRedisUrl(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
    }
  });
