import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  Max,
  Min,
  ValidateNested,
  registerDecorator,
} from 'class-validator';

export const DISTANCES = ['Cosine', 'Dot', 'Euclid', 'Manhattan'] as const;
export const MAX_VECTOR_SIZE = 65_536;
export const MAX_POINTS_PER_UPSERT = 10_000;
const MAX_STRING_ID_LENGTH = 1_024;

const finite = { allowNaN: false, allowInfinity: false } as const;

/** Qdrant point ids: unsigned integers or strings (UUIDs, or any string the orchestrator maps to one). */
function IsPointId(): PropertyDecorator {
  return (target, propertyKey) => {
    registerDecorator({
      name: 'isPointId',
      target: target.constructor,
      propertyName: String(propertyKey),
      options: {
        message: `id must be an unsigned integer or a non-empty string of at most ${MAX_STRING_ID_LENGTH} characters`,
      },
      validator: {
        validate: (value: unknown) =>
          (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) ||
          (typeof value === 'string' && value.length > 0 && value.length <= MAX_STRING_ID_LENGTH),
      },
    });
  };
}

export class CreateCollectionDto {
  @ApiProperty({ minimum: 1, maximum: MAX_VECTOR_SIZE, example: 384 })
  @IsInt()
  @Min(1)
  @Max(MAX_VECTOR_SIZE)
  vector_size!: number;

  @ApiPropertyOptional({ enum: DISTANCES, default: 'Cosine', example: 'Cosine' })
  @IsOptional()
  @IsIn(DISTANCES, { message: `distance must be one of ${DISTANCES.join(', ')}` })
  distance?: (typeof DISTANCES)[number];
}

export class PointDto {
  @ApiProperty({
    description: 'Unsigned integer, UUID, or any other string (kept and returned as given)',
    oneOf: [{ type: 'integer', minimum: 0 }, { type: 'string' }],
    example: 1,
  })
  @IsPointId()
  id!: number | string;

  @ApiProperty({
    type: [Number],
    description: "Must have the collection's vector_size",
    example: [0.1, 0.2, 0.3, 0.4],
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_VECTOR_SIZE)
  @IsNumber(finite, { each: true })
  vector!: number[];

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: { text: 'First document' } })
  @IsOptional()
  @IsObject()
  payload?: Record<string, unknown>;
}

export class UpsertPointsDto {
  @ApiProperty({ type: [PointDto], minItems: 1, maxItems: MAX_POINTS_PER_UPSERT })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_POINTS_PER_UPSERT)
  @ValidateNested({ each: true })
  @Type(() => PointDto)
  points!: PointDto[];
}

export class SearchPointsDto {
  @ApiProperty({ type: [Number], example: [0.1, 0.2, 0.3, 0.4] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_VECTOR_SIZE)
  @IsNumber(finite, { each: true })
  query_vector!: number[];

  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 10, example: 5 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @ApiPropertyOptional({ default: true, example: true })
  @IsOptional()
  @IsBoolean()
  with_payload?: boolean;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Qdrant filter, passed through unchanged',
    example: { must: [{ key: 'text', match: { value: 'First document' } }] },
  })
  @IsOptional()
  @IsObject()
  filter?: Record<string, unknown>;
}
