import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import type { OrchestratorConfig } from '../orchestrator.config';
import { CONFIG } from '../platform/platform.module';
import { HfHubClient, hubHttpOptions } from './hf-hub.client';
import { ModelsController } from './models.controller';
import { ModelsService } from './models.service';

/** Needs only the global CONFIG and LOGGER providers (PlatformModule in the app). */
@Module({
  imports: [
    HttpModule.registerAsync({
      inject: [CONFIG],
      useFactory: (config: OrchestratorConfig) => hubHttpOptions(config),
    }),
  ],
  controllers: [ModelsController],
  providers: [HfHubClient, ModelsService],
  // The fit check asks the Hub for a model's size through the same client.
  exports: [HfHubClient],
})
export class ModelsModule {}
