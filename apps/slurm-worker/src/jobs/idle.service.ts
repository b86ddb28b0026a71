import { Inject, Injectable } from '@nestjs/common';
import { idleDecision, idleTimeoutMs, schedulerJobIds, type SchedulerJobs } from '@aiplane/contracts';
import { ServiceRegistry, storedStatus, type StoredService } from '@aiplane/registry';
import type { Logger } from '@aiplane/server-kit';
import { LOGGER } from '../platform/platform.module';

/** Puts an idle stop or a wake on the queue under its deterministic id (a no-op when one is there). */
export type IdleEnqueue = <N extends 'idle-stop' | 'wake'>(
  name: N,
  jobId: string,
  payload: SchedulerJobs[N]['payload'],
) => Promise<unknown>;

/**
 * Runs after each poll: decides which services with an idle timeout have gone unused for it, and
 * which idle ones a request asked for, and enqueues the work. The decisions are cheap reads; the
 * scheduler work happens in the idle-stop and wake jobs.
 */
@Injectable()
export class IdleService {
  constructor(
    private readonly registry: ServiceRegistry,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async sweep(enqueue: IdleEnqueue, now = Date.now()): Promise<void> {
    await this.stopUnused(enqueue, now);
    await this.wakeRequested(enqueue);
  }

  private async stopUnused(enqueue: IdleEnqueue, now: number): Promise<void> {
    const candidates = (await this.registry.getMany(await this.registry.activeIds())).flatMap((service) => {
      const timeoutMs = idleTimeoutMs(service.config);
      // A group's node jobs carry the group's config; groups are not stopped for idleness. Nor is a
      // service in the middle of a walltime rollover, nor a successor's own record (its use is
      // recorded under the service's id): the rollover ends with one job, whose clock then runs.
      if (timeoutMs === undefined || service.group_id !== null || rollingOver(service)) return [];
      return [{ service, timeoutMs }];
    });
    if (candidates.length === 0) return;
    const lastUses = await this.registry.lastUses(candidates.map(({ service }) => service.id));
    const restartClock: string[] = [];
    for (const [index, { service, timeoutMs }] of candidates.entries()) {
      const decision = idleDecision({
        running: storedStatus(service) === 'running',
        lastUseMs: lastUses[index],
        timeoutMs,
        nowMs: now,
      });
      if (decision === 'restart-clock') restartClock.push(service.id);
      if (decision === 'stop') {
        this.logger.info(
          { service_id: service.id, job_id: service.job_id },
          'service unused for its idle timeout',
        );
        await enqueue('idle-stop', schedulerJobIds.idleStop(service.id, service.job_id), {
          serviceId: service.id,
          jobId: service.job_id,
        });
      }
    }
    await this.registry.recordUse(restartClock, now);
  }

  private async wakeRequested(enqueue: IdleEnqueue): Promise<void> {
    const ids = await this.registry.wakeRequests();
    if (ids.length === 0) return;
    const services = await this.registry.getMany(ids);
    for (const service of services) {
      if (service.idle_since === undefined) {
        await this.registry.dropWakeRequest(service.id);
        continue;
      }
      await enqueue('wake', schedulerJobIds.wake(service.id, service.job_id), {
        serviceId: service.id,
        jobId: service.job_id,
      });
    }
    // Only ids of idle records get here, but a record may have been moved aside since.
    const known = new Set(services.map((service) => service.id));
    for (const id of ids.filter((id) => !known.has(id))) await this.registry.dropWakeRequest(id);
  }
}

function rollingOver(service: StoredService): boolean {
  return (
    Boolean(service.rollover_of) ||
    Boolean(service.successor_id) ||
    service.rollover_state === 'draining' ||
    service.rollover_state === 'restarting'
  );
}
