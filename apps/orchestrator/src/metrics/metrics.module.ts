import { Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

/** Needs the global platform (the app's METRICS, REDIS, CONFIG). */
@Module({ controllers: [MetricsController], providers: [MetricsService] })
export class MetricsModule {}
