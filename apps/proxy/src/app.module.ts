import { Module, type DynamicModule } from '@nestjs/common';
import { loggerModule, type Logger } from '@aiplane/server-kit';
import { OpenAiForwarder } from './data-plane/openai.forwarder';
import { PromptForwarder } from './data-plane/prompt.forwarder';
import { QdrantForwarder } from './data-plane/qdrant.forwarder';
import { MetricsController } from './metrics/metrics.controller';
import { MetricsService } from './metrics/metrics.service';
import { PlatformModule } from './platform/platform.module';
import type { ProxyConfig } from './proxy.config';
import { IdleService } from './routing/idle.service';
import { ModelCatalogue } from './routing/model.catalogue';
import { RoutingViewCache } from './routing/routing-view.cache';
import { ServedModelsCache } from './routing/served-models.cache';
import { WorkloadResolver } from './routing/workload.resolver';
import { WorkloadCaller } from './routing/workload.caller';
import { VectorDbController } from './vector-db/vector-db.controller';
import { VectorDbService } from './vector-db/vector-db.service';
import { VllmController } from './vllm/vllm.controller';
import { VllmService } from './vllm/vllm.service';

@Module({})
export class AppModule {
  static forRoot(config: ProxyConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [loggerModule(logger), PlatformModule.forRoot(config, logger)],
      controllers: [MetricsController, VllmController, VectorDbController],
      providers: [
        RoutingViewCache,
        ServedModelsCache,
        WorkloadResolver,
        IdleService,
        WorkloadCaller,
        ModelCatalogue,
        VllmService,
        VectorDbService,
        MetricsService,
        OpenAiForwarder,
        PromptForwarder,
        QdrantForwarder,
      ],
    };
  }
}
