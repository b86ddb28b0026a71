import { Controller, Get, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ServiceIdPipe } from '@aiplane/server-kit';
import { MetricsService } from './metrics.service';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * The content type is set once the scrape has succeeded, not with @Header: Nest applies that before
 * the handler runs, so an error (unknown service, 404) would go out as JSON labelled as metrics text.
 */
@Controller('services')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get('vllm/:id/metrics')
  async vllm(
    @Param('id', ServiceIdPipe) id: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<string> {
    return exposition(res, await this.metrics.scrape(id, 'vllm'));
  }

  @Get('vector-db/:id/metrics')
  async vectorDb(
    @Param('id', ServiceIdPipe) id: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<string> {
    return exposition(res, await this.metrics.scrape(id, 'qdrant'));
  }

  @Get(':id/metrics')
  async any(
    @Param('id', ServiceIdPipe) id: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<string> {
    return exposition(res, await this.metrics.scrape(id));
  }
}

function exposition(res: Response, text: string): string {
  res.setHeader('content-type', PROMETHEUS_CONTENT_TYPE);
  return text;
}
