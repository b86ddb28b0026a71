import { Injectable, type PipeTransform } from '@nestjs/common';
import { collectionNameProblem } from '@aiplane/contracts';
import { BadRequestError } from '@aiplane/server-kit';

@Injectable()
export class CollectionNamePipe implements PipeTransform<string, string> {
  transform(value: string): string {
    const problem = collectionNameProblem(value);
    if (problem !== undefined) throw new BadRequestError(problem);
    return value;
  }
}
