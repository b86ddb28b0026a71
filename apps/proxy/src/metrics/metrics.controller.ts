import { Controller, Get, Header, Param } from '@nestjs/common';
import { ServiceIdPipe } from '../routing/service-id.pipe';
import { MetricsService } from './metrics.service';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

@Controller('services')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get('vllm/:id/metrics')
  @Header('content-type', PROMETHEUS_CONTENT_TYPE)
  vllm(@Param('id', ServiceIdPipe) id: string): Promise<string> {
    return this.metrics.scrape(id, 'vllm');
  }

  @Get('vector-db/:id/metrics')
  @Header('content-type', PROMETHEUS_CONTENT_TYPE)
  vectorDb(@Param('id', ServiceIdPipe) id: string): Promise<string> {
    return this.metrics.scrape(id, 'qdrant');
  }

  @Get(':id/metrics')
  @Header('content-type', PROMETHEUS_CONTENT_TYPE)
  any(@Param('id', ServiceIdPipe) id: string): Promise<string> {
    return this.metrics.scrape(id);
  }
}
