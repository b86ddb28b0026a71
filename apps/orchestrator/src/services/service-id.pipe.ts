import { Injectable, type PipeTransform } from '@nestjs/common';
import { BadRequestError } from '@aiplane/server-kit';

/** Service ids are scheduler job ids; group ids add `sg-`. Anything else cannot exist. */
export const SERVICE_ID_PATTERN = /^(sg-)?[0-9]{1,12}$/;

@Injectable()
export class ServiceIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!SERVICE_ID_PATTERN.test(value)) {
      throw new BadRequestError(
        `"${value.slice(0, 64)}" is not a service id (expected a job id such as 3652098)`,
      );
    }
    return value;
  }
}
