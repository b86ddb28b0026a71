import { Module, type DynamicModule } from '@nestjs/common';
import { loggerModule, type Logger } from '@aiplane/server-kit';
import type { GatewayConfig } from './gateway.config';
import { HealthController } from './health/health.controller';
import { RecipesController } from './recipes/recipes.controller';
import { ServiceGroupsController } from './service-groups/service-groups.controller';
import { ServicesController } from './services/services.controller';
import { RouteForwarder } from './common/route-forwarder';
import { TransportModule } from './transport/transport.module';
import { VectorDbController } from './vector-db/vector-db.controller';
import { VllmController } from './vllm/vllm.controller';

@Module({})
export class AppModule {
  static forRoot(config: GatewayConfig, logger: Logger): DynamicModule {
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
      ],
      providers: [RouteForwarder],
    };
  }
}
