import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Redis } from 'ioredis';
import { createRedis, ServiceRegistry, storedService } from '@aiplane/registry';
import { createHttpApp, createLogger } from '@aiplane/server-kit';
import { AppModule } from '../app.module';
import { loadOrchestratorConfig } from '../orchestrator.config';

// The real orchestrator app on real Redis: services/targets must reach TargetsController, not be
// taken for a service id by services/:id.
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `int-orch-targets-${process.pid}`;

describe('GET /api/services/targets (real orchestrator app, real Redis)', () => {
  let app: NestExpressApplication;
  let base: string;
  let redis: Redis;

  beforeAll(async () => {
    redis = createRedis(REDIS_URL);
    const registry = new ServiceRegistry(redis, prefix);
    await registry.createService(storedService('401', { endpoint: 'http://gpu-node-01:8002' }));
    await registry.createService(
      storedService('402', { endpoint: null, scheduler_state: 'PENDING', ready: false }),
    );
    const config = loadOrchestratorConfig({
      REDIS_URL,
      REDIS_PREFIX: prefix,
      ORCHESTRATOR_PORT: '0',
      LOG_LEVEL: 'silent',
    });
    const logger = createLogger('orchestrator', 'silent');
    app = await createHttpApp(AppModule.forRoot(config, logger), { logger });
    app.setGlobalPrefix('api');
    await app.listen(0, '127.0.0.1');
    base = `${await app.getUrl()}/api/services`;
  });

  afterAll(async () => {
    await app.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('answers Prometheus HTTP SD JSON with the running services', async () => {
    const response = await fetch(`${base}/targets`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(await response.json()).toEqual([
      {
        targets: ['gpu-node-01:8002'],
        labels: {
          __metrics_path__: '/metrics',
          service_id: '401',
          replica_id: '401:8002',
          recipe_name: 'inference/vllm-single-node',
          job_id: '401',
          kind: 'vllm',
        },
      },
    ]);
  });

  it('leaves services/:id to the services routes', async () => {
    const response = await fetch(`${base}/402`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: '402', status: 'pending' });
  });
});
