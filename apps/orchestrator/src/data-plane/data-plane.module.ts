import { Module } from '@nestjs/common';
import { MetricsController } from '../metrics/metrics.controller';
import { VectorDbController } from '../vector-db/vector-db.controller';
import { VllmController } from '../vllm/vllm.controller';
import { ProxyRouteForwarder } from './proxy-route.forwarder';

/** Every route the orchestrator streams on to the proxy. */
@Module({
  controllers: [VllmController, VectorDbController, MetricsController],
  providers: [ProxyRouteForwarder],
})
export class DataPlaneModule {}
