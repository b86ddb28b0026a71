import { Module, type DynamicModule } from '@nestjs/common';
import { loggerModule, type Logger } from '@aiplane/server-kit';
import { HealthController } from './health/health.controller';
import { MetricsModule } from './metrics/metrics.module';
import { ModelsModule } from './models/models.module';
import type { OrchestratorConfig } from './orchestrator.config';
import { PlatformModule } from './platform/platform.module';
import { RecipesController } from './recipes/recipes.controller';
import { ServicesModule } from './services/services.module';
import { TargetsModule } from './targets/targets.module';

@Module({})
export class AppModule {
  static forRoot(config: OrchestratorConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      // The data plane is not here: createOrchestratorApp streams it to the proxy before Nest.
      // Routes register in import order, so literal paths (services/vllm/search-models,
      // services/vllm/services) come before the parameterised ones (services/:id, services/vllm/:id/...).
      imports: [
        loggerModule(logger),
        PlatformModule.forRoot(config, logger),
        ModelsModule,
        TargetsModule,
        ServicesModule,
        MetricsModule,
      ],
      controllers: [RecipesController, HealthController],
    };
  }
}
