import { Controller, Get, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import { servedPath } from '@aiplane/contracts';
import { NamePipe } from '@aiplane/server-kit';
import { MetricsService } from './metrics.service';

@Controller()
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  /** Prometheus text of one control-plane app; its own series carry `app`. */
  @Get(servedPath('metrics.app', 'orchestrator'))
  async app(@Param('app', NamePipe) app: string, @Res() res: Response): Promise<void> {
    const text = await this.metrics.exposition(app);
    res.status(200).setHeader('content-type', this.metrics.contentType).send(text);
  }
}
