import { Inject, Injectable } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { isTerminalJobState, type SchedulerJobs } from '@aiplane/contracts';
import type { SchedulerJob } from '@aiplane/jobs';
import { ServiceRegistry } from '@aiplane/registry';
import { SchedulerError, type Scheduler } from '@aiplane/scheduler';
import type { Logger } from '@aiplane/server-kit';
import { LOGGER, SCHEDULER } from '../platform/platform.module';

type Result = SchedulerJobs['cancel']['result'];

@Injectable()
export class CancelHandler {
  constructor(
    private readonly registry: ServiceRegistry,
    @Inject(SCHEDULER) private readonly scheduler: Scheduler,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async handle(job: SchedulerJob<'cancel'>): Promise<Result> {
    const { serviceId } = job.data;
    const service = await this.registry.get(serviceId);
    if (!service) throw new UnrecoverableError(`service ${serviceId} does not exist`);
    if (isTerminalJobState(service.scheduler_state)) return { serviceId, alreadyFinal: true };
    try {
      await this.scheduler.cancel(service.job_id);
    } catch (error) {
      if (error instanceof SchedulerError && error.code !== 'UNAVAILABLE')
        throw new UnrecoverableError(error.message);
      throw error;
    }
    // scancel succeeded, so the job ends as CANCELLED; recording it now means the caller's next
    // read agrees with the answer it got, without waiting for the next poll.
    const applied = await this.registry.applySchedulerState(serviceId, {
      state: 'CANCELLED',
      reason: 'cancelled by user',
    });
    this.logger.info({ service_id: serviceId, job_id: service.job_id }, 'job cancelled');
    return { serviceId, alreadyFinal: !applied };
  }
}
