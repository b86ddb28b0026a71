import { Inject, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { schedulerJobIds } from '@aiplane/contracts';
import { createBullConnection } from '@aiplane/jobs';
import { QUEUE_STATES, type AppMetrics } from '@aiplane/metrics';
import { SchedulerQueueWorker } from '@aiplane/jobs-consumer';
import { runWithRequestId, type Logger } from '@aiplane/server-kit';
import { CONFIG, LOGGER, METRICS } from '../platform/platform.module';
import type { SlurmWorkerConfig } from '../slurm-worker.config';
import { CancelHandler } from './cancel.handler';
import { IdleStopHandler } from './idle-stop.handler';
import { IdleService } from './idle.service';
import { PollFollower, PollHandler } from './poll.handler';
import { SchedulerReconciler } from './scheduler.reconciler';
import { tagFailures } from './job-failures';
import { SubmitHandler } from './submit.handler';
import { RolloverHandler } from '../rollover/rollover.handler';
import { RolloverPlanner } from '../rollover/rollover.planner';
import { WakeHandler } from './wake.handler';

const RECONCILE_RETRY_MAX_MS = 30_000;

@Module({
  providers: [
    SubmitHandler,
    CancelHandler,
    PollHandler,
    SchedulerReconciler,
    RolloverHandler,
    RolloverPlanner,
    { provide: PollFollower, useExisting: RolloverPlanner },
    IdleService,
    IdleStopHandler,
    WakeHandler,
  ],
})
export class JobsModule implements OnApplicationBootstrap, OnApplicationShutdown {
  private worker?: SchedulerQueueWorker;
  private connection?: Redis;
  private stopReconciling?: () => void;

  constructor(
    private readonly submit: SubmitHandler,
    private readonly cancel: CancelHandler,
    private readonly poll: PollHandler,
    private readonly reconciler: SchedulerReconciler,
    private readonly rollover: RolloverHandler,
    private readonly planner: RolloverPlanner,
    private readonly idle: IdleService,
    private readonly idleStop: IdleStopHandler,
    private readonly wake: WakeHandler,
    @Inject(CONFIG) private readonly config: SlurmWorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS) private readonly metrics: AppMetrics,
  ) {}

  onApplicationBootstrap(): void {
    this.connection = createBullConnection(this.config.REDIS_URL);
    const worker: SchedulerQueueWorker = new SchedulerQueueWorker(
      this.connection,
      {
        // Each job runs under the request id of the HTTP call that caused it, so its log lines join that trace.
        submit: (job) =>
          runWithRequestId(job.data.requestId, () => tagFailures(() => this.submit.handle(job))),
        cancel: (job) =>
          runWithRequestId(job.data.requestId, () => tagFailures(() => this.cancel.handle(job))),
        poll: async () => {
          const result = await this.poll.handle();
          // After the states are current, so the idle decisions see this interval's statuses.
          await this.idle.sweep((name, jobId, payload) => worker.enqueue(name, jobId, payload));
          return result;
        },
        rollover: (job) => tagFailures(() => this.rollover.rollover(job)),
        retire: (job) => tagFailures(() => this.rollover.retire(job)),
        'idle-stop': (job) => tagFailures(() => this.idleStop.handle(job)),
        wake: (job) => tagFailures(() => this.wake.handle(job)),
      },
      {
        concurrency: this.config.CONCURRENCY,
        pollEveryMs: this.config.POLL_INTERVAL_MS,
        prefix: `${this.config.REDIS_PREFIX}:bull`,
      },
    );
    this.worker = worker;
    this.planner.enqueue = (name, payload, delayMs) =>
      worker.enqueue(name, schedulerJobIds[name](payload.serviceId, payload.generation), payload, delayMs);
    // Depth is read from Redis when the metrics are collected, so it is the queue's, whichever worker answers.
    const queueMetrics = this.metrics.queue('scheduler', () => worker.jobCounts(QUEUE_STATES));
    this.worker.bullWorker.on('completed', (job) => {
      queueMetrics.finished(job.name, 'completed', timesOf(job));
    });
    this.worker.bullWorker.on('failed', (job, error) => {
      if (job) queueMetrics.finished(job.name, 'failed', timesOf(job));
      this.logger.error({ job: job?.name, job_id: job?.id, err: error }, 'scheduler job failed');
    });
    this.worker.bullWorker.on('error', (error) => {
      this.logger.error({ err: error }, 'queue error');
    });
    this.startAfterReconciling(this.worker);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopReconciling?.();
    await this.worker?.close();
    this.connection?.disconnect();
  }

  /**
   * Reconciles with the scheduler (see SchedulerReconciler) before the worker takes anything from the
   * queue, so the start-up pass never races this worker's own submits; then again every
   * RECONCILE_INTERVAL_MS. A scheduler that is down at start is retried with backoff, and the queue
   * waits for it: a submit could not reach it either. Runs in the background so that a stop
   * signal is still served while it waits.
   */
  private startAfterReconciling(worker: SchedulerQueueWorker): void {
    const state = { stopped: false };
    let timer: NodeJS.Timeout | undefined;
    let wake: (() => void) | undefined;
    this.stopReconciling = () => {
      state.stopped = true;
      clearTimeout(timer);
      wake?.();
    };
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, ms);
      });
    const reconcileOnce = async (): Promise<boolean> => {
      try {
        const report = await this.reconciler.reconcile((id) => worker.submitPending(id));
        this.logger.info({ ...report }, 'reconciled with the scheduler');
        return true;
      } catch (error) {
        this.logger.warn({ err: error }, 'reconciliation failed');
        return false;
      }
    };
    // A function, so that the checks after each await see a stop that happened during it.
    const stopped = (): boolean => state.stopped;
    const run = async (): Promise<void> => {
      for (let attempt = 1; !stopped() && !(await reconcileOnce()); attempt += 1) {
        const delayMs = backoffMs(attempt);
        this.logger.warn({ attempt, retry_in_ms: delayMs }, 'start-up reconciliation will be retried');
        await sleep(delayMs);
      }
      for (let attempt = 1; !stopped(); attempt += 1) {
        try {
          await worker.start();
          break;
        } catch (error) {
          const delayMs = backoffMs(attempt);
          this.logger.warn(
            { err: error, attempt, retry_in_ms: delayMs },
            'the queue could not be started; will retry',
          );
          await sleep(delayMs);
        }
      }
      if (stopped()) return;
      this.logger.info(
        {
          scheduler: this.config.SCHEDULER,
          profile: this.config.RUNTIME_PROFILE,
          poll_ms: this.config.POLL_INTERVAL_MS,
          reconcile_ms: this.config.RECONCILE_INTERVAL_MS,
        },
        'slurm-worker consuming the scheduler queue',
      );
      while (!stopped()) {
        await sleep(this.config.RECONCILE_INTERVAL_MS);
        if (!stopped()) await reconcileOnce();
      }
    };
    run().catch((error: unknown) => {
      this.logger.error({ err: error }, 'the scheduler queue could not be started');
    });
  }
}

/** When a job became due (its enqueue, plus any delay: a repeat's interval is not waiting), ran and ended. */
function timesOf(job: { timestamp: number; delay?: number; processedOn?: number; finishedOn?: number }): {
  timestamp: number;
  processedOn?: number;
  finishedOn?: number;
} {
  return {
    timestamp: job.timestamp + (job.delay ?? 0),
    ...(job.processedOn === undefined ? {} : { processedOn: job.processedOn }),
    ...(job.finishedOn === undefined ? {} : { finishedOn: job.finishedOn }),
  };
}

function backoffMs(attempt: number): number {
  return Math.min(RECONCILE_RETRY_MAX_MS, 1_000 * 2 ** Math.min(attempt - 1, 10));
}
