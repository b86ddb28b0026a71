import { Module, type DynamicModule } from '@nestjs/common';
import { loggerModule, type Logger } from '@aiplane/server-kit';
import { PlatformModule } from './platform/platform.module';
import type { ProxyConfig } from './proxy.config';
import { TargetResolver } from './routing/target.resolver';
import { VllmController } from './vllm/vllm.controller';
import { VllmService } from './vllm/vllm.service';

@Module({})
export class AppModule {
  static forRoot(config: ProxyConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [loggerModule(logger), PlatformModule.forRoot(config, logger)],
      controllers: [VllmController],
      providers: [TargetResolver, VllmService],
    };
  }
}
