import type { DynamicModule, InjectionToken, Provider, Type } from '@nestjs/common';
import type { Logger } from './logging';

/** The app's validated config (each app's own type). */
export const CONFIG = Symbol('Config');
export const LOGGER = Symbol('Logger');
/** The app's own metrics (an AppMetrics of @aiplane/metrics). */
export const METRICS = Symbol('Metrics');

export interface PlatformParts {
  /** Modules the app's dependencies come from, such as `RegistryModule.forConfig(config)`. */
  imports?: DynamicModule[];
  /** The app's own external dependencies, built from its config. */
  providers?: Provider[];
  exports?: InjectionToken[];
}

/**
 * One shape for every app's platform module: a global module holding the validated config, the
 * logger and the app's external dependencies, so each app states only what is its own. `module`
 * is the app's class, which keeps its own shutdown hooks.
 */
export function platformModule(
  module: Type,
  config: object,
  logger: Logger,
  parts: PlatformParts = {},
): DynamicModule {
  return {
    module,
    global: true,
    imports: parts.imports ?? [],
    providers: [
      { provide: CONFIG, useValue: config },
      { provide: LOGGER, useValue: logger },
      ...(parts.providers ?? []),
    ],
    exports: [CONFIG, LOGGER, ...(parts.exports ?? [])],
  };
}
