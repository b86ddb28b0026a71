import { Controller, Get, Inject } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { servedPath } from '@aiplane/contracts';
import { SchedulerQueueClient } from '@aiplane/jobs';
import { REDIS } from '@aiplane/registry';
import { UnavailableError } from '@aiplane/server-kit';

/** Longest the readiness check waits for Redis's client list; the gateway's probe gives up at 3 s. */
const WORKER_CHECK_TIMEOUT_MS = 2_000;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

@Controller()
export class HealthController {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly queue: SchedulerQueueClient,
  ) {}

  /** Healthy when the store answers: without it the orchestrator can serve nothing. */
  @Get(servedPath('health.orchestrator', 'orchestrator'))
  async health(): Promise<{ status: 'healthy'; redis: 'ok' }> {
    await this.pingRedis();
    return { status: 'healthy', redis: 'ok' };
  }

  /**
   * Ready when a create sent now would be accepted: the store answers and a slurm-worker consumes
   * the queue (without one a create waits out SCHEDULER_WAIT_MS and fails).
   */
  @Get(servedPath('health.orchestratorReady', 'orchestrator'))
  async ready(): Promise<{ status: 'ready'; redis: 'ok'; workers: number }> {
    await this.pingRedis();
    let workers: number;
    try {
      workers = await withTimeout(this.queue.workerCount(), WORKER_CHECK_TIMEOUT_MS);
    } catch (error) {
      throw new UnavailableError(`Could not count the slurm-workers: ${messageOf(error)}`);
    }
    if (workers < 1) {
      throw new UnavailableError(
        'No slurm-worker is consuming the scheduler queue: a create now could not be submitted',
      );
    }
    return { status: 'ready', redis: 'ok', workers };
  }

  private async pingRedis(): Promise<void> {
    try {
      await this.redis.ping();
    } catch (error) {
      throw new UnavailableError(`Redis is unreachable: ${messageOf(error)}`);
    }
  }
}

// The queue's connection retries forever while Redis is away; the check must answer anyway.
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no answer within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
