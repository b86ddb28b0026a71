import { Controller, Get } from '@nestjs/common';
import type { HttpSdTargetGroup } from '@aiplane/metrics';
import { TargetsService } from './targets.service';

@Controller('services')
export class TargetsController {
  constructor(private readonly targets: TargetsService) {}

  /** For Prometheus `http_sd_configs`: `[{targets: ["host:port"], labels: {...}}]`. */
  @Get('targets')
  list(): Promise<HttpSdTargetGroup[]> {
    return this.targets.targets();
  }
}
