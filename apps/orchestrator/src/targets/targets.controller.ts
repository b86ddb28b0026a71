import { Controller, Get, Req } from '@nestjs/common';
import type { Request } from 'express';
import {
  InvalidScrapeOriginError,
  ORCHESTRATOR_PREFIX,
  scrapeOrigin,
  servedPath,
  type ScrapeOrigin,
} from '@aiplane/contracts';
import type { HttpSdTargetGroup } from '@aiplane/metrics';
import { BadRequestError } from '@aiplane/server-kit';
import { TargetsService } from './targets.service';

@Controller()
export class TargetsController {
  constructor(private readonly targets: TargetsService) {}

  /**
   * For Prometheus `http_sd_configs`: `[{targets: ["host:port"], labels: {__metrics_path__, service_id,
   * recipe_name, kind}}]`, one per serving service or group. The targets are this API's
   * `/services/{id}/metrics` route, not the workloads (which refuse anyone without their per-job
   * key), as the caller reached it: `X-Forwarded-Host`, `X-Forwarded-Proto` and `X-Forwarded-Prefix`
   * (the gateway sends all three) or else this request's `Host`, `http` and `/api`; a malformed one
   * is a 400. Prometheus needs `honor_labels: true` so that the scraped `service_id`/`replica_id`
   * win, and `authorization: {credentials_file: <file with ORCHESTRATOR_TOKEN>}` both on the SD
   * config and on the scrape config, since both requests reach this bearer-token guarded API.
   *
   * The control plane's own apps come first, one target each (`app` label, `/metrics/{app}`): the
   * gateway among them when the request came through one (it sends `X-Forwarded-Host`).
   */
  @Get(servedPath('services.targets', 'orchestrator'))
  list(@Req() req: Request): Promise<HttpSdTargetGroup[]> {
    return this.targets.targets(originOf(req), req.headers['x-forwarded-host'] !== undefined);
  }
}

function originOf(req: Request): ScrapeOrigin {
  try {
    return scrapeOrigin(
      {
        forwardedHost: single(req.headers['x-forwarded-host']),
        forwardedProto: single(req.headers['x-forwarded-proto']),
        forwardedPrefix: single(req.headers['x-forwarded-prefix']),
        host: req.headers.host,
      },
      ORCHESTRATOR_PREFIX,
    );
  } catch (error) {
    if (error instanceof InvalidScrapeOriginError) throw new BadRequestError(error.message);
    throw error;
  }
}

/** Repeated headers arrive joined by ", ", which no valid value contains: they are refused as one. */
function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}
