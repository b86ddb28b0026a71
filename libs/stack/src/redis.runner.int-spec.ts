import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NestFactory } from '@nestjs/core';
import { parseRedisUrl } from '@aiplane/config';
import { checkRedisSafety, createRedis, RedisSafetyError, RegistryModule } from '@aiplane/registry';
import { startPrivateRedis, type PrivateRedis } from './redis.runner';

const mode = (file: string): number => statSync(file).mode & 0o777;

/** Every file and directory under `dir`, with its permission bits. */
function modesUnder(dir: string): { file: string; mode: number; isDir: boolean }[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((entry) => {
    const file = path.join(dir, entry);
    return { file, mode: mode(file), isDir: statSync(file).isDirectory() };
  });
}

const settings = (url: string) => ({
  REDIS_URL: url,
  REDIS_ALLOW_NO_AUTH: false,
  REDIS_SKIP_POLICY_CHECK: false,
});

async function refusalCode(check: Promise<unknown>): Promise<string> {
  try {
    await check;
  } catch (error) {
    if (error instanceof RedisSafetyError) return error.code;
    throw error;
  }
  return 'started';
}

describe('startPrivateRedis', () => {
  let root: string;
  let redis: PrivateRedis;

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'aiplane-redis-'));
    redis = await startPrivateRedis({ dir: path.join(root, 'redis') });
  });

  afterAll(async () => {
    await redis.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('requires the password: a client without it gets NOAUTH, one with it is served', async () => {
    const anonymous = createRedis(`unix://${redis.socketPath}`, { maxRetriesPerRequest: 0 });
    anonymous.on('error', () => undefined);
    await expect(anonymous.ping()).rejects.toThrow(/NOAUTH/);
    anonymous.disconnect();

    const wrong = createRedis(`unix://:not-the-password@${redis.socketPath}`, { maxRetriesPerRequest: 0 });
    wrong.on('error', () => undefined);
    await expect(wrong.set('k', 'v')).rejects.toThrow();
    wrong.disconnect();

    const client = createRedis(redis.url);
    await client.set('spec:k', 'v');
    expect(await client.get('spec:k')).toBe('v');
    // No TCP listener at all: the socket in a 0700 directory is the only way in.
    expect(await client.config('GET', 'port')).toEqual(['port', '0']);
    expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    client.disconnect();
    expect(parseRedisUrl(redis.url).password).toHaveLength(64);
  });

  it('keeps its socket and data dir 0700 and its files 0600', () => {
    const dir = path.join(root, 'redis');
    expect(mode(dir)).toBe(0o700);
    expect(statSync(redis.socketPath).isSocket()).toBe(true);
    expect(mode(redis.socketPath)).toBe(0o700);
    expect(mode(path.join(dir, 'data'))).toBe(0o700);
    expect(mode(path.join(dir, 'redis.conf'))).toBe(0o600);
    const files = modesUnder(dir).filter((entry) => entry.file !== redis.socketPath);
    // The AOF (a directory of files in Redis 7) must be among them, or the check proves nothing.
    expect(files.some((entry) => entry.file.includes('appendonly'))).toBe(true);
    for (const entry of files)
      expect({ file: entry.file, mode: entry.mode }).toEqual({
        file: entry.file,
        mode: entry.isDir ? 0o700 : 0o600,
      });
  });

  // Root ignores file modes, so only another user shows what the modes keep out.
  const asRoot = process.getuid?.() === 0;
  (asRoot ? it : it.skip)('keeps another Unix user out of the socket and the data', () => {
    const other = `aiplane-rb${String(process.pid)}`;
    spawnSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', other]);
    try {
      // Only the Redis directory's own modes stand between the other user and the socket.
      chmodSync(root, 0o755);
      const asOther = (command: string, ...args: string[]) =>
        spawnSync('runuser', ['-u', other, '--', command, ...args], { encoding: 'utf8' });
      const ping = asOther('redis-cli', '-s', redis.socketPath, 'ping');
      expect(`${ping.stdout}${ping.stderr}`).toMatch(/Permission denied/);
      expect(`${ping.stdout}${ping.stderr}`).not.toMatch(/PONG/);
      const read = asOther('cat', path.join(root, 'redis', 'redis.conf'));
      expect(read.status).not.toBe(0);
      expect(read.stderr).toMatch(/Permission denied/);
      const list = asOther('ls', path.join(root, 'redis', 'data'));
      expect(list.status).not.toBe(0);
    } finally {
      chmodSync(root, 0o700);
      spawnSync('userdel', [other]);
    }
  });

  it('passes the start-up check with its URL and refuses the same Redis without the password', async () => {
    await expect(checkRedisSafety(settings(redis.url))).resolves.toBeUndefined();
    expect(await refusalCode(checkRedisSafety(settings(`unix://${redis.socketPath}`)))).toBe('REDIS_NO_AUTH');
    expect(await refusalCode(checkRedisSafety(settings(`unix://:wrong@${redis.socketPath}`)))).toBe(
      'REDIS_AUTH_FAILED',
    );
  });

  it('an app refuses to start on a URL without a password, and starts with it', async () => {
    const start = (url: string) =>
      NestFactory.createApplicationContext(
        RegistryModule.forConfig({ ...settings(url), REDIS_PREFIX: 'spec' }),
        { logger: false, abortOnError: false },
      );
    expect(await refusalCode(start(`unix://${redis.socketPath}`))).toBe('REDIS_NO_AUTH');
    const app = await start(redis.url);
    await app.close();
  });

  it('keeps the records across a restart in the same directory', async () => {
    const client = createRedis(redis.url);
    await client.set('spec:survives', 'yes');
    client.disconnect();
    await redis.stop();
    redis = await startPrivateRedis({ dir: path.join(root, 'redis') });
    const again = createRedis(redis.url);
    expect(await again.get('spec:survives')).toBe('yes');
    again.disconnect();
  });

  it('refuses a Redis that may evict records, in the check and in an app', async () => {
    const lru = await startPrivateRedis({ dir: path.join(root, 'lru'), maxmemoryPolicy: 'allkeys-lru' });
    try {
      expect(await refusalCode(checkRedisSafety(settings(lru.url)))).toBe('REDIS_EVICTION_POLICY');
      const app = NestFactory.createApplicationContext(
        RegistryModule.forConfig({ ...settings(lru.url), REDIS_PREFIX: 'spec' }),
        { logger: false, abortOnError: false },
      );
      expect(await refusalCode(app)).toBe('REDIS_EVICTION_POLICY');
    } finally {
      await lru.stop();
    }
  });

  it('refuses a directory that is a symlink, and names a binary that does not start', async () => {
    mkdirSync(path.join(root, 'elsewhere'));
    symlinkSync(path.join(root, 'elsewhere'), path.join(root, 'link'));
    await expect(startPrivateRedis({ dir: path.join(root, 'link') })).rejects.toThrow(
      /must be a directory, not a symlink/,
    );
    await expect(
      startPrivateRedis({ dir: path.join(root, 'nope'), serverBin: '/nonexistent/redis-server' }),
    ).rejects.toThrow(/\/nonexistent\/redis-server exited during start-up/);
  });
});
