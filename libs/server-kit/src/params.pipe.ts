import { Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { collectionNameProblem, isServiceId } from '@aiplane/contracts';
import { BadRequestError } from './errors';

export const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;

function shown(value: unknown): string {
  // JSON.stringify(undefined) is undefined, whatever its type says.
  const text =
    typeof value === 'string' ? value : ((JSON.stringify(value) as string | undefined) ?? String(value));
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}

function label(metadata: ArgumentMetadata): string {
  return metadata.data ?? metadata.type;
}

/** Service or group id: a scheduler job id, bare or as `sg-<job id>`. */
@Injectable()
export class ServiceIdPipe implements PipeTransform<unknown, string> {
  transform(value: unknown, metadata: ArgumentMetadata): string {
    if (isServiceId(value)) return value;
    throw new BadRequestError(
      `${label(metadata)} must be a service id such as 3652098 or sg-3652098 (got ${shown(value)})`,
    );
  }
}

/** A Qdrant collection name, by the rule the vector DB endpoints share (orchestrator and proxy). */
@Injectable()
export class CollectionNamePipe implements PipeTransform<string, string> {
  transform(value: string): string {
    const problem = collectionNameProblem(value);
    if (problem !== undefined) throw new BadRequestError(problem);
    return value;
  }
}

/** Recipe, category, collection and model name segments. */
@Injectable()
export class NamePipe implements PipeTransform<unknown, string> {
  transform(value: unknown, metadata: ArgumentMetadata): string {
    // "." and ".." match the character class but would mean "this/parent directory" to any path logic.
    if (typeof value === 'string' && NAME_PATTERN.test(value) && !/^\.+$/.test(value)) return value;
    throw new BadRequestError(
      `${label(metadata)} must be 1-128 characters of letters, digits, "_", "." or "-" (got ${shown(value)})`,
    );
  }
}

/** An optional whole-number query parameter within bounds; absent stays undefined. */
export class OptionalIntPipe implements PipeTransform<unknown, number | undefined> {
  constructor(
    private readonly min: number,
    private readonly max: number,
  ) {}

  transform(value: unknown, metadata: ArgumentMetadata): number | undefined {
    if (value === undefined) return undefined;
    if (typeof value === 'string' && /^[0-9]{1,9}$/.test(value)) {
      const number = Number(value);
      if (number >= this.min && number <= this.max) return number;
    }
    throw new BadRequestError(
      `${label(metadata)} must be a whole number from ${this.min} to ${this.max} (got ${shown(value)})`,
    );
  }
}

/** `true` or `false` (absent: undefined), as the route table's `bool` query parameters. */
export class OptionalBoolPipe implements PipeTransform<unknown, boolean | undefined> {
  transform(value: unknown, metadata: ArgumentMetadata): boolean | undefined {
    if (value === undefined || value === '') return undefined;
    // A global ValidationPipe with implicit conversion may already have made it a boolean.
    if (value === 'true' || value === true) return true;
    if (value === 'false' || value === false) return false;
    throw new BadRequestError(`${label(metadata)} must be true or false (got ${shown(value)})`);
  }
}

/** An optional free-text query parameter: one value, bounded length. */
export class OptionalTextPipe implements PipeTransform<unknown, string | undefined> {
  constructor(
    private readonly maxLength: number,
    private readonly pattern?: RegExp,
  ) {}

  transform(value: unknown, metadata: ArgumentMetadata): string | undefined {
    if (value === undefined || value === '') return undefined;
    if (
      typeof value === 'string' &&
      value.length <= this.maxLength &&
      (this.pattern === undefined || this.pattern.test(value))
    ) {
      return value;
    }
    const shape = this.pattern ? ` matching ${String(this.pattern)}` : '';
    throw new BadRequestError(
      `${label(metadata)} must be one value of at most ${this.maxLength} characters${shape} (got ${shown(value)})`,
    );
  }
}
