import { Injectable, type PipeTransform } from '@nestjs/common';
import { BadRequestError } from '@aiplane/server-kit';

const SERVICE_ID = /^(sg-)?[0-9]{1,12}$/;

@Injectable()
export class ServiceIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!SERVICE_ID.test(value)) {
      throw new BadRequestError(
        `"${value.slice(0, 64)}" is not a service id (expected a job id such as 3652098)`,
      );
    }
    return value;
  }
}
