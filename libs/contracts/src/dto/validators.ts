import { registerDecorator, type ValidationOptions } from 'class-validator';

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

/** `{NAME: value}` where NAME is a shell-style identifier and value a string, number or boolean. */
export function IsEnvironmentMap(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyKey) => {
    registerDecorator({
      name: 'isEnvironmentMap',
      target: target.constructor,
      propertyName: String(propertyKey),
      options: {
        message:
          'environment must be an object whose keys match ^[A-Za-z_][A-Za-z0-9_]*$ and whose values are strings or numbers',
        ...options,
      },
      validator: {
        validate: (value: unknown) =>
          value !== null &&
          typeof value === 'object' &&
          !Array.isArray(value) &&
          Object.entries(value as Record<string, unknown>).every(
            ([key, inner]) =>
              ENV_NAME.test(key) &&
              (typeof inner === 'string' ||
                typeof inner === 'boolean' ||
                (typeof inner === 'number' && Number.isFinite(inner))),
          ),
      },
    });
  };
}
