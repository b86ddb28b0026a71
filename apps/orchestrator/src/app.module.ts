import { Module, type DynamicModule } from '@nestjs/common';
import { loggerModule, type Logger } from '@aiplane/server-kit';
import { DataPlaneController } from './data-plane/data-plane.controller';
import { HealthController } from './health/health.controller';
import type { OrchestratorConfig } from './orchestrator.config';
import { PlatformModule } from './platform/platform.module';
import { RecipesController } from './recipes/recipes.controller';
import { ServicesModule } from './services/services.module';

@Module({})
export class AppModule {
  static forRoot(config: OrchestratorConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      // ServicesModule's routes are registered before the data plane's so that literal paths
      // such as services/vllm/services win over the parameterised ones.
      imports: [loggerModule(logger), PlatformModule.forRoot(config, logger), ServicesModule],
      controllers: [DataPlaneController, RecipesController, HealthController],
    };
  }
}
