import { Controller, Get, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import { servedPath } from '@aiplane/contracts';
import { ServiceIdPipe } from '@aiplane/server-kit';
import { MetricsService } from './metrics.service';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * The content type is set once the scrape has succeeded, not with @Header: Nest applies that before
 * the handler runs, so an error (unknown service, 404) would go out as JSON labelled as metrics text.
 */
@Controller()
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get(servedPath('vllm.metrics', 'proxy'))
  async vllm(
    @Param('id', ServiceIdPipe) id: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<string> {
    return exposition(res, await this.metrics.scrape(id, 'vllm'));
  }

  @Get(servedPath('vectorDb.metrics', 'proxy'))
  async vectorDb(
    @Param('id', ServiceIdPipe) id: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<string> {
    return exposition(res, await this.metrics.scrape(id, 'qdrant'));
  }

  @Get(servedPath('services.metrics', 'proxy'))
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
