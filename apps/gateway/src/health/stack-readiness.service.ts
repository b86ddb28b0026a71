import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { OrchestratorClient, type OrchestratorReadiness } from '../transport/orchestrator.client';

/** How often the gateway asks while the stack has never been ready. */
export const STARTING_POLL_MS = 1_000;

/**
 * Whether the whole stack has been ready once since this gateway started. Scripts written for the
 * document's system wait for /health and then create at once, so /health must not say healthy
 * before a create would be accepted. The gateway asks on its own until the first yes, so a gateway
 * restarted behind a running stack is past "starting" without anyone calling /health.
 */
@Injectable()
export class StackReadiness implements OnApplicationBootstrap, OnApplicationShutdown {
  private readySince: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly orchestrator: OrchestratorClient) {}

  /** When the stack was first seen ready; undefined while it never was. */
  get everReadyAt(): string | undefined {
    return this.readySince;
  }

  /** Asks the orchestrator now; the first yes is remembered for the life of the gateway. */
  async check(): Promise<OrchestratorReadiness> {
    const readiness = await this.orchestrator.readiness();
    if (readiness.ready && this.readySince === undefined) {
      this.readySince = new Date().toISOString();
      clearTimeout(this.timer);
    }
    return readiness;
  }

  onApplicationBootstrap(): void {
    this.schedule(0);
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.readySince !== undefined) return;
    this.timer = setTimeout(() => {
      void this.check().finally(() => {
        this.schedule(STARTING_POLL_MS);
      });
    }, delayMs);
    // Never what keeps the process alive.
    this.timer.unref();
  }
}
