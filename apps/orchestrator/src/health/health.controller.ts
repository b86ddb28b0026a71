import { Controller, Get, Inject } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { servedPath } from '@aiplane/contracts';
import { REDIS } from '@aiplane/registry';
import { UnavailableError } from '@aiplane/server-kit';

@Controller()
export class HealthController {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  /** Healthy when the store answers: without it the orchestrator can serve nothing. */
  @Get(servedPath('health.orchestrator', 'orchestrator'))
  async health(): Promise<{ status: 'healthy'; redis: 'ok' }> {
    try {
      await this.redis.ping();
    } catch (error) {
      throw new UnavailableError(
        `Redis is unreachable: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    return { status: 'healthy', redis: 'ok' };
  }
}
