import { IsBoolean, IsOptional } from 'class-validator';
import { PromptDto } from '@aiplane/http-api';

/** The v1 prompt plus `stream`, which the proxy (the hop that parses prompts) now accepts. */
export class StreamPromptDto extends PromptDto {
  @IsOptional()
  @IsBoolean()
  stream?: boolean;
}
