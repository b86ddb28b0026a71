import { registerDecorator, type ValidationOptions } from 'class-validator';
import { idleTimeoutProblem } from '@aiplane/contracts';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A positive whole number, given as a number or as a string of digits (the document sends "8"). */
export function IsCount(options?: ValidationOptions & { nullable?: boolean }): PropertyDecorator {
  return (target, propertyKey) => {
    registerDecorator({
      name: 'isCount',
      target: target.constructor,
      propertyName: String(propertyKey),
      options: {
        message: `${String(propertyKey)} must be a whole number (or a string of digits)`,
        ...options,
      },
      validator: {
        validate: (value: unknown) =>
          (options?.nullable === true && value === null) ||
          (typeof value === 'number' && Number.isInteger(value) && value >= 0) ||
          (typeof value === 'string' && /^[0-9]{1,9}$/.test(value)),
      },
    });
  };
}

/** `config.idle_timeout`: positive minutes, decimals allowed, as a number or a decimal string. */
export function IsIdleTimeout(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyKey) => {
    registerDecorator({
      name: 'isIdleTimeout',
      target: target.constructor,
      propertyName: String(propertyKey),
      options: {
        message: (args) => idleTimeoutProblem(args.value) ?? `${String(propertyKey)} is not valid`,
        ...options,
      },
      validator: { validate: (value: unknown) => idleTimeoutProblem(value) === undefined },
    });
  };
}

/** What an environment value may be: a string, a finite number or a boolean (numbers are coerced). */
export function isEnvironmentValue(value: unknown): boolean {
  return (
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

/** A config field that lands in one environment variable: held to what an environment value may be. */
export function IsEnvironmentValue(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyKey) => {
    registerDecorator({
      name: 'isEnvironmentValue',
      target: target.constructor,
      propertyName: String(propertyKey),
      options: { message: `${String(propertyKey)} must be a string, number or boolean`, ...options },
      validator: { validate: isEnvironmentValue },
    });
  };
}

/** Most variables one service config may set. */
export const MAX_ENVIRONMENT_VARIABLES = 256;
/**
 * Largest environment (names and values, UTF-8) a config may set. Linux caps a process's
 * arguments and environment together at 2 MiB; staying far below keeps sbatch and the workload
 * startable whatever the recipe and the scheduler add.
 */
export const MAX_ENVIRONMENT_BYTES = 256 * 1024;

/** Why `value` is not an environment map, or undefined when it is one. Values are not repeated: they may be secrets. */
export function environmentMapProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return 'environment must be an object of NAME: value pairs';
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_ENVIRONMENT_VARIABLES) {
    return `environment sets ${entries.length} variables; at most ${MAX_ENVIRONMENT_VARIABLES} are accepted`;
  }
  let bytes = 0;
  for (const [key, inner] of entries) {
    if (!ENV_NAME.test(key)) {
      return `environment variable name ${JSON.stringify(key.slice(0, 64))} is not valid: use letters, digits and _, not starting with a digit`;
    }
    if (!isEnvironmentValue(inner)) {
      return `environment.${key} must be a string, number or boolean`;
    }
    bytes += Buffer.byteLength(key, 'utf8') + Buffer.byteLength(String(inner), 'utf8') + 2;
  }
  if (bytes > MAX_ENVIRONMENT_BYTES) {
    return `environment holds ${bytes} bytes of names and values; at most ${MAX_ENVIRONMENT_BYTES} are accepted`;
  }
  return undefined;
}

/** `{NAME: value}` where NAME is a shell-style identifier and value a string, number or boolean. */
export function IsEnvironmentMap(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyKey) => {
    registerDecorator({
      name: 'isEnvironmentMap',
      target: target.constructor,
      propertyName: String(propertyKey),
      options: { ...options },
      validator: {
        validate: (value: unknown) => environmentMapProblem(value) === undefined,
        // Worded from the property on, so the pipe's path prefix reads "config.environment ...".
        defaultMessage: (args) => environmentMapProblem(args?.value) ?? 'environment is not valid',
      },
    });
  };
}
