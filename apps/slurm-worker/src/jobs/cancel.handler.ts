import { Inject, Injectable } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { isGroupId, isTerminalJobState, type SchedulerJobs } from '@aiplane/contracts';
import type { SchedulerJob } from '@aiplane/jobs';
import { ServiceRegistry, type StoredService } from '@aiplane/registry';
import type { Scheduler } from '@aiplane/scheduler';
import type { Logger } from '@aiplane/server-kit';
import { refusalsAreFinal } from './job-failures';
import { LOGGER, SCHEDULER } from '../platform/platform.module';

type Result = SchedulerJobs['cancel']['result'];

@Injectable()
export class CancelHandler {
  constructor(
    private readonly registry: ServiceRegistry,
    @Inject(SCHEDULER) private readonly scheduler: Scheduler,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Cancels a service's job, or every node job of a group. */
  async handle(job: SchedulerJob<'cancel'>): Promise<Result> {
    const { serviceId } = job.data;
    const jobs = isGroupId(serviceId)
      ? await this.groupJobs(serviceId)
      : [await this.registry.get(serviceId)].filter((service) => service !== undefined);
    if (!jobs || jobs.length === 0) throw new UnrecoverableError(`service ${serviceId} does not exist`);
    // A rollover successor in the making goes with its service.
    const [single] = jobs;
    if (!isGroupId(serviceId) && single?.successor_id) {
      const successor = await this.registry.getOwn(single.successor_id);
      if (successor) jobs.push(successor);
    }
    let applied = 0;
    for (const service of jobs) {
      if (isTerminalJobState(service.scheduler_state)) continue;
      // Stopped for idleness: no job runs, so there is nothing to scancel, only the record to end.
      if (service.idle_since !== undefined && (await this.registry.cancelIdle(service.id))) {
        applied += 1;
        this.logger.info({ service_id: serviceId }, 'idle service cancelled');
        continue;
      }
      await refusalsAreFinal(() => this.scheduler.cancel(service.job_id));
      // scancel succeeded, so the job ends as CANCELLED; recording it now means the caller's next
      // read agrees with the answer it got, without waiting for the next poll.
      const cancelled = await this.registry.applySchedulerState(service.id, {
        state: 'CANCELLED',
        reason: 'cancelled by user',
      });
      if (cancelled) applied += 1;
      this.logger.info({ service_id: serviceId, job_id: service.job_id }, 'job cancelled');
    }
    return { serviceId, alreadyFinal: applied === 0 };
  }

  /** A group's node jobs, with those of a rollover successor still starting. */
  private async groupJobs(groupId: string): Promise<StoredService[] | undefined> {
    const view = await this.registry.getGroupView(groupId);
    if (!view) return undefined;
    return [...view.jobs, ...(await this.registry.getMany(view.group.next_job_ids ?? []))];
  }
}
