import { Inject, Injectable } from '@nestjs/common';
import { idleTimeoutMs, type SchedulerJobs } from '@aiplane/contracts';
import type { SchedulerJob } from '@aiplane/jobs';
import { ServiceRegistry } from '@aiplane/registry';
import type { Scheduler } from '@aiplane/scheduler';
import type { Logger } from '@aiplane/server-kit';
import { refusalsAreFinal } from './job-failures';
import { LOGGER, SCHEDULER } from '../platform/platform.module';

type Result = SchedulerJobs['idle-stop']['result'];

/**
 * Stops a service nobody used for its idle timeout. The record is marked idle first, in the same
 * step that checks no request came in since the decision (so a request in between keeps it), and
 * only then is the job cancelled: a retry after a failed scancel finds the mark and cancels again.
 */
@Injectable()
export class IdleStopHandler {
  constructor(
    private readonly registry: ServiceRegistry,
    @Inject(SCHEDULER) private readonly scheduler: Scheduler,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async handle(job: SchedulerJob<'idle-stop'>): Promise<Result> {
    const { serviceId, jobId } = job.data;
    const service = await this.registry.get(serviceId);
    const timeoutMs = service === undefined ? undefined : idleTimeoutMs(service.config);
    if (service === undefined || timeoutMs === undefined) return { serviceId, stopped: false };
    const alreadyMarked = service.idle_since !== undefined && service.job_id === jobId;
    const outcome = alreadyMarked ? 'marked' : await this.registry.markIdle(serviceId, jobId, timeoutMs);
    if (outcome !== 'marked') return { serviceId, stopped: false };
    await refusalsAreFinal(() => this.scheduler.cancel(jobId));
    this.logger.info(
      { service_id: serviceId, job_id: jobId, idle_timeout_ms: timeoutMs },
      'idle service stopped',
    );
    return { serviceId, stopped: true };
  }
}
