import { Inject, Injectable } from '@nestjs/common';
import { isControlPlaneApp, unknownAppMessage } from '@aiplane/contracts';
import type { AppMetrics } from '@aiplane/metrics';
import { METRICS, NotFoundError, type RouteCall, type RouteHandler } from '@aiplane/server-kit';
import { RouteForwarder } from '../common/route-forwarder';

/** The gateway answers for its own metrics; every other app's are the orchestrator's to serve. */
@Injectable()
export class MetricsHandler implements RouteHandler {
  constructor(
    private readonly forwarder: RouteForwarder,
    @Inject(METRICS) private readonly metrics: AppMetrics,
  ) {}

  async handle(call: RouteCall): Promise<void> {
    const app = call.params.app ?? '';
    if (!isControlPlaneApp(app)) throw new NotFoundError(unknownAppMessage(app));
    if (app !== 'gateway') {
      await this.forwarder.handle(call);
      return;
    }
    const text = await this.metrics.text();
    call.res.status(200).setHeader('content-type', this.metrics.contentType).send(text);
  }
}
