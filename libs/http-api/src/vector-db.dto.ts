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
import {
  DEFAULT_DISTANCE,
  DEFAULT_SEARCH_LIMIT,
  DISTANCES,
  MAX_POINTS_PER_UPSERT,
  MAX_SEARCH_LIMIT,
  MAX_STRING_ID_LENGTH,
  MAX_VECTOR_COMPONENT,
  MAX_VECTOR_SIZE,
  RESERVED_PAYLOAD_KEY,
  type Distance,
  type CreateCollectionRequest,
  type VectorPoint,
  type UpsertPointsRequest,
  type SearchPointsRequest,
} from '@aiplane/contracts';

const finite = { allowNaN: false, allowInfinity: false } as const;

/** Every element a finite number within ±MAX_VECTOR_COMPONENT. */
function IsVectorComponents(): PropertyDecorator {
  return (target, propertyKey) => {
    registerDecorator({
      name: 'isVectorComponents',
      target: target.constructor,
      propertyName: String(propertyKey),
      options: {
        message: `${String(propertyKey)} must hold numbers from -${MAX_VECTOR_COMPONENT} to ${MAX_VECTOR_COMPONENT}`,
      },
      validator: {
        // Shape is @IsArray's and @IsNumber's to judge; this rule only speaks about magnitude.
        validate: (value: unknown) =>
          !Array.isArray(value) ||
          value.every((item) => typeof item !== 'number' || Math.abs(item) <= MAX_VECTOR_COMPONENT),
      },
    });
  };
}

/** Qdrant point ids: unsigned integers or strings (UUIDs, or any string the data plane maps to one). */
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

/** A JSON object that does not use the data plane's reserved key. */
function IsPointPayload(): PropertyDecorator {
  return (target, propertyKey) => {
    registerDecorator({
      name: 'isPointPayload',
      target: target.constructor,
      propertyName: String(propertyKey),
      options: { message: `payload must not contain the reserved key "${RESERVED_PAYLOAD_KEY}"` },
      validator: {
        // Shape is @IsObject's to judge; this rule only speaks about the reserved key.
        validate: (value: unknown) =>
          typeof value !== 'object' ||
          value === null ||
          !Object.prototype.hasOwnProperty.call(value, RESERVED_PAYLOAD_KEY),
      },
    });
  };
}

export class CreateCollectionDto implements CreateCollectionRequest {
  @ApiProperty({ minimum: 1, maximum: MAX_VECTOR_SIZE, example: 384 })
  @IsInt()
  @Min(1)
  @Max(MAX_VECTOR_SIZE)
  vector_size!: number;

  @ApiPropertyOptional({ enum: DISTANCES, default: DEFAULT_DISTANCE, example: 'Cosine' })
  @IsOptional()
  @IsIn(DISTANCES, { message: `distance must be one of ${DISTANCES.join(', ')}` })
  distance?: Distance;
}

export class PointDto implements VectorPoint {
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
  @IsVectorComponents()
  vector!: number[];

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: `Any JSON object; the key "${RESERVED_PAYLOAD_KEY}" is reserved`,
    example: { text: 'First document' },
  })
  @IsOptional()
  @IsObject()
  @IsPointPayload()
  payload?: Record<string, unknown>;
}

export class UpsertPointsDto implements UpsertPointsRequest {
  @ApiProperty({ type: [PointDto], minItems: 1, maxItems: MAX_POINTS_PER_UPSERT })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_POINTS_PER_UPSERT)
  @ValidateNested({ each: true })
  @Type(() => PointDto)
  points!: PointDto[];
}

export class SearchPointsDto implements SearchPointsRequest {
  @ApiProperty({ type: [Number], example: [0.1, 0.2, 0.3, 0.4] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_VECTOR_SIZE)
  @IsNumber(finite, { each: true })
  @IsVectorComponents()
  query_vector!: number[];

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_SEARCH_LIMIT, default: DEFAULT_SEARCH_LIMIT, example: 5 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_SEARCH_LIMIT)
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
