import { Module, type DynamicModule } from '@nestjs/common';
import type { AppMetrics } from '@aiplane/metrics';
import { loggerModule, METRICS, type Logger } from '@aiplane/server-kit';
import { RouteForwarder } from './common/route-forwarder';
import type { GatewayConfig } from './gateway.config';
import { HealthController } from './health/health.controller';
import { StackReadiness } from './health/stack-readiness.service';
import { MetricsController } from './metrics/metrics.controller';
import { MetricsHandler } from './metrics/metrics.handler';
import { RecipesController } from './recipes/recipes.controller';
import { ServiceGroupsController } from './service-groups/service-groups.controller';
import { OpenAiController, ServiceOpenAiController } from './openai/openai.controller';
import { ServicesController } from './services/services.controller';
import { TransportModule } from './transport/transport.module';
import { QdrantController } from './vector-db/qdrant.controller';
import { VectorDbController } from './vector-db/vector-db.controller';
import { VllmController } from './vllm/vllm.controller';

@Module({})
export class AppModule {
  static forRoot(config: GatewayConfig, logger: Logger, metrics: AppMetrics): DynamicModule {
    return {
      module: AppModule,
      imports: [loggerModule(logger), TransportModule.forRoot(config, logger)],
      controllers: [
        HealthController,
        ServicesController,
        ServiceGroupsController,
        VllmController,
        VectorDbController,
        RecipesController,
        MetricsController,
        // Documentation only: the pass-through serves these paths before Nest (see their files).
        OpenAiController,
        ServiceOpenAiController,
        QdrantController,
      ],
      providers: [StackReadiness, RouteForwarder, MetricsHandler, { provide: METRICS, useValue: metrics }],
    };
  }
}
