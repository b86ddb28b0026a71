import { Inject, Injectable } from '@nestjs/common';
import { ServiceRegistry } from '@aiplane/registry';
import { GatewayTimeoutError, type AppError, type Logger } from '@aiplane/server-kit';
import { LOGGER } from '../platform/platform.module';
import { UpstreamConnectError, UpstreamTimeoutError } from '../upstream/upstream.client';
import type { ResolvedWorkload } from './workload.resolver';

/**
 * The error a caller answers with when no candidate could be reached, in its own API's words.
 * `attempted` lists the replica ids tried; `reason` is the last refusal's message.
 */
export type UnreachableError = (attempted: string[], reason: string) => AppError;

/**
 * How every data-plane call meets the workload: a refused connection (nothing was sent, so nothing
 * can have been done twice) takes that replica out of rotation on the spot and the next candidate
 * is tried; a workload that accepted the request but did not answer is a 504 and is not retried,
 * since it may still be working on it.
 */
@Injectable()
export class WorkloadCaller {
  constructor(
    private readonly registry: ServiceRegistry,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Runs `call` on each of `candidates` in order until one is reached; its answer or error is the result. */
  async call<T>(
    candidates: readonly ResolvedWorkload[],
    call: (workload: ResolvedWorkload) => Promise<T>,
    unreachable: UnreachableError,
  ): Promise<T> {
    const attempted: string[] = [];
    // Only an empty list keeps this; WorkloadResolver never hands one out.
    let reason = 'no replica to try';
    for (const workload of candidates) {
      attempted.push(workload.replicaId);
      try {
        return await call(workload);
      } catch (error) {
        if (error instanceof UpstreamTimeoutError) throw new GatewayTimeoutError(error.message);
        if (!(error instanceof UpstreamConnectError)) throw error;
        reason = error.message;
        await this.markDown(workload);
        this.logger.warn(
          { replica: workload.replicaId, err: error.message },
          'replica refused the connection; marked down',
        );
      }
    }
    throw unreachable(attempted, reason);
  }

  /** Out of rotation until the prober sees the replica answer again. */
  private async markDown(workload: ResolvedWorkload): Promise<void> {
    // Only if the record still names this endpoint: after a rollover the refusal is the old job's.
    if (workload.replicaIndex === undefined)
      await this.registry.setReadiness(workload.service.id, false, new Date(), workload.endpoint);
    else await this.registry.setReplicaReadiness(workload.service.id, workload.replicaIndex, false);
  }
}
