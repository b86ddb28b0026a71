import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import type { Redis } from 'ioredis';
import { infraRedisUrl, storedService } from '@aiplane/testing';
import { REDIS, RegistryModule } from './registry.module';
import { ServiceRegistry } from './service.registry';

// Real Redis: the module an app imports gives it a working registry and closes the connection on shutdown.
const REDIS_URL = infraRedisUrl();

describe('RegistryModule (real Redis)', () => {
  it('provides the registry on its connection and closes that connection when the app shuts down', async () => {
    const prefix = `aiplane-int-registry-module-${randomBytes(6).toString('hex')}`;
    const app = await NestFactory.createApplicationContext(
      RegistryModule.forRoot({ redisUrl: REDIS_URL, prefix }),
      { logger: false },
    );
    const registry = app.get(ServiceRegistry);
    const redis = app.get<Redis>(REDIS);

    await registry.createService(storedService('1'));
    expect((await registry.get('1'))?.id).toBe('1');
    expect(await redis.exists(`${prefix}:service:1`)).toBe(1);
    await redis.del(`${prefix}:service:1`, `${prefix}:services`, `${prefix}:services:active`);

    const ended = once(redis, 'end');
    await app.close();
    await ended;
    expect(redis.status).toBe('end');
  });
});
