import { Inject, Injectable } from '@nestjs/common';
import { idleTimeoutMs, useNeedsRecording, type EntryStatus } from '@aiplane/contracts';
import { ServiceRegistry, type StoredService } from '@aiplane/registry';
import type { Logger } from '@aiplane/server-kit';
import { LOGGER } from '../platform/platform.module';

/**
 * What a data-plane request means for idle stop: a use of its service, written at most once a
 * second per service (and only for services with an idle timeout), so the hot path costs no Redis
 * round trip; and, for a service stopped for idleness, the request that starts it again.
 */
@Injectable()
export class IdleService {
  private readonly lastWritten = new Map<string, number>();

  constructor(
    private readonly registry: ServiceRegistry,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Called for every data-plane request routed to `service`, whatever its status. */
  async used(service: StoredService, status: EntryStatus, now = Date.now()): Promise<void> {
    if (status === 'idle') {
      // Idempotent (a set member): any number of racing requests ask for one start.
      await this.registry.requestWake(service.id, now).catch((error: unknown) => {
        this.logger.warn(
          { service_id: service.id, err: messageOf(error) },
          'could not ask for an idle service to start',
        );
      });
      return;
    }
    if (idleTimeoutMs(service.config) === undefined) return;
    if (!useNeedsRecording(this.lastWritten.get(service.id), now)) return;
    this.lastWritten.set(service.id, now);
    // Not awaited: a use record that fails costs at worst an early idle stop, never this request.
    void this.registry.recordUse([service.id], now).catch((error: unknown) => {
      this.logger.warn({ service_id: service.id, err: messageOf(error) }, 'could not record a use');
    });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
