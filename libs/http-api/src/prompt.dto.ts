import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsArray,
  IsBoolean,
  IsInt,
  IsNotEmpty,
  IsNumber,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ArrayMaxSize,
} from 'class-validator';
import type { PromptRequest } from '@aiplane/contracts';

export const PROMPT_MAX_CHARS = 200_000;

export class PromptDto implements PromptRequest {
  @ApiProperty({ example: 'Tell me a joke about programming', maxLength: PROMPT_MAX_CHARS })
  @IsString()
  @IsNotEmpty()
  @MaxLength(PROMPT_MAX_CHARS)
  prompt!: string;

  @ApiPropertyOptional({ default: 150, example: 100 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(32_768)
  max_tokens?: number;

  @ApiPropertyOptional({ default: 0.7, example: 0.7 })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(2)
  temperature?: number;

  @ApiPropertyOptional({
    description: 'Model to ask for; defaults to the one the service serves',
    example: 'gpt2',
  })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  model?: string;

  @ApiPropertyOptional({ example: 0.95 })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  top_p?: number;

  @ApiPropertyOptional({ type: [String], example: ['\n\n'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(8)
  @IsString({ each: true })
  @MaxLength(256, { each: true })
  stop?: string[];

  @ApiPropertyOptional({ example: 0 })
  @IsOptional()
  @IsNumber()
  @Min(-2)
  @Max(2)
  presence_penalty?: number;

  @ApiPropertyOptional({ example: 0 })
  @IsOptional()
  @IsNumber()
  @Min(-2)
  @Max(2)
  frequency_penalty?: number;

  @ApiPropertyOptional({ example: 42 })
  @IsOptional()
  @IsInt()
  seed?: number;

  @ApiPropertyOptional({
    default: false,
    description:
      "Answer as `text/event-stream` with the workload's own chat (or completions) chunks, each " +
      'flushed as it is generated, ending with `data: [DONE]`. A failure after the first chunk ends ' +
      'the stream with one `data: {"error":{...}}` event.',
  })
  @IsOptional()
  @IsBoolean()
  stream?: boolean;
}
