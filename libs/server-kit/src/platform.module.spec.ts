import 'reflect-metadata';
import { Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createLogger, type Logger } from './logging';
import { CONFIG, LOGGER, platformModule } from './platform.module';

const CLOCK = Symbol('Clock');
interface TestConfig {
  NAME: string;
}
const config: TestConfig = { NAME: 'test-app' };
const logger = createLogger('test', 'silent');
const shutdowns: string[] = [];

@Module({})
class TestPlatformModule implements OnApplicationShutdown {
  onApplicationShutdown(): void {
    shutdowns.push('platform');
  }
}

// A feature module that imports nothing: the platform's providers are global.
@Injectable()
class Consumer {
  constructor(
    @Inject(CONFIG) readonly config: TestConfig,
    @Inject(LOGGER) readonly logger: Logger,
    @Inject(CLOCK) readonly clock: () => number,
  ) {}
}
@Module({ providers: [Consumer] })
class FeatureModule {}

describe('platformModule', () => {
  it("gives every module the app's config, logger and own dependencies, and keeps the app's hooks", async () => {
    const platform = platformModule(TestPlatformModule, config, logger, {
      providers: [{ provide: CLOCK, useValue: () => 42 }],
      exports: [CLOCK],
    });
    @Module({ imports: [platform, FeatureModule] })
    class AppModule {}

    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    const consumer = app.get(Consumer);
    expect(consumer.config).toBe(config);
    expect(consumer.logger).toBe(logger);
    expect(consumer.clock()).toBe(42);
    await app.close();
    expect(shutdowns).toEqual(['platform']);
  });
});
