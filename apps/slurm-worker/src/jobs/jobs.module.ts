import { Inject, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { SchedulerQueueWorker } from '@aiplane/jobs';
import { createBullConnection } from '@aiplane/registry';
import { runWithRequestId, type Logger } from '@aiplane/server-kit';
import { CONFIG, LOGGER } from '../platform/platform.module';
import type { SlurmWorkerConfig } from '../slurm-worker.config';
import { CancelHandler } from './cancel.handler';
import { PollHandler } from './poll.handler';
import { SubmitHandler } from './submit.handler';

@Module({ providers: [SubmitHandler, CancelHandler, PollHandler] })
export class JobsModule implements OnApplicationBootstrap, OnApplicationShutdown {
  private worker?: SchedulerQueueWorker;
  private connection?: Redis;

  constructor(
    private readonly submit: SubmitHandler,
    private readonly cancel: CancelHandler,
    private readonly poll: PollHandler,
    @Inject(CONFIG) private readonly config: SlurmWorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.connection = createBullConnection(this.config.REDIS_URL);
    this.worker = new SchedulerQueueWorker(
      this.connection,
      {
        // Each job runs under the request id of the HTTP call that caused it, so its log lines join that trace.
        submit: (job) => runWithRequestId(job.data.requestId, () => this.submit.handle(job)),
        cancel: (job) => runWithRequestId(job.data.requestId, () => this.cancel.handle(job)),
        poll: () => this.poll.handle(),
      },
      {
        concurrency: this.config.CONCURRENCY,
        pollEveryMs: this.config.POLL_INTERVAL_MS,
        prefix: `${this.config.REDIS_PREFIX}:bull`,
      },
    );
    this.worker.bullWorker.on('failed', (job, error) => {
      this.logger.error({ job: job?.name, job_id: job?.id, err: error }, 'scheduler job failed');
    });
    this.worker.bullWorker.on('error', (error) => {
      this.logger.error({ err: error }, 'queue error');
    });
    await this.worker.start();
    this.logger.info(
      {
        scheduler: this.config.SCHEDULER,
        profile: this.config.RUNTIME_PROFILE,
        poll_ms: this.config.POLL_INTERVAL_MS,
      },
      'slurm-worker consuming the scheduler queue',
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker?.close();
    this.connection?.disconnect();
  }
}
