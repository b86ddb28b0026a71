import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { IsCount, IsEnvironmentMap, IsEnvironmentValue, IsIdleTimeout } from './validators';
import type {
  CreateServiceRequest,
  ResourceRequest,
  ServiceConfig,
  UpdateStatusRequest,
} from '@aiplane/contracts';

// Shared by resources.memory and its flat alias, so both are refused in the same words.
const MEMORY_SYNTAX = /^[1-9][0-9]{0,8}[KMGTkmgt]?$/;
const MEMORY_MESSAGE = 'must look like 64G, 512M or 1024';
const COUNT_SCHEMA = [{ type: 'integer' }, { type: 'string' }];

/** Says in Swagger that a flat config key is another name for a nested one. */
function alias(target: string): string {
  return `Alias of \`config.${target}\`, as the document's clients send it; when both are given, \`config.${target}\` wins`;
}

export class ResourcesDto implements ResourceRequest {
  @ApiPropertyOptional({
    description: 'Number of nodes',
    example: 1,
    oneOf: [{ type: 'integer' }, { type: 'string' }],
  })
  @IsOptional()
  @IsCount()
  nodes?: number | string;

  @ApiPropertyOptional({
    description: 'CPUs per task',
    example: '8',
    oneOf: [{ type: 'integer' }, { type: 'string' }],
  })
  @IsOptional()
  @IsCount()
  cpu?: number | string;

  @ApiPropertyOptional({ description: 'Memory per node, SLURM syntax', example: '64G' })
  @IsOptional()
  @IsString()
  @Matches(MEMORY_SYNTAX, { message: `memory ${MEMORY_MESSAGE}` })
  memory?: string;

  @ApiPropertyOptional({
    description: 'Wall-time limit in minutes',
    example: 120,
    oneOf: [{ type: 'integer' }, { type: 'string' }],
  })
  @IsOptional()
  @IsCount()
  time_limit?: number | string;

  @ApiPropertyOptional({
    description: 'GPUs per node; null or 0 for a CPU-only service',
    example: '4',
    nullable: true,
    oneOf: [{ type: 'integer' }, { type: 'string' }],
  })
  @IsOptional()
  @IsCount({ nullable: true })
  gpu?: number | string | null;

  @ApiPropertyOptional({ description: 'SLURM partition', example: 'gpu' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'partition must match ^[A-Za-z0-9_.-]{1,64}$' })
  partition?: string;

  @ApiPropertyOptional({ description: 'SLURM account (project)', example: 'p200000' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'account must match ^[A-Za-z0-9_.-]{1,64}$' })
  account?: string;

  @ApiPropertyOptional({ description: 'SLURM QOS', example: 'default' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'qos must match ^[A-Za-z0-9_.-]{1,64}$' })
  qos?: string;
}

export class ServiceConfigDto implements ServiceConfig {
  @ApiPropertyOptional({
    description: 'Environment of the workload; values reach it byte-for-byte and are never run by a shell',
    example: { VLLM_MODEL: 'gpt2' },
    type: 'object',
    additionalProperties: { type: 'string' },
  })
  @IsOptional()
  @IsEnvironmentMap()
  environment?: Record<string, string | number | boolean>;

  @ApiPropertyOptional({ type: ResourcesDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => ResourcesDto)
  resources?: ResourcesDto;

  @ApiPropertyOptional({
    description: 'GPUs per replica; makes a replica group of gpu ÷ gpu_per_replica replicas per node',
    example: 2,
    oneOf: [{ type: 'integer' }, { type: 'string' }],
  })
  @IsOptional()
  @IsCount()
  gpu_per_replica?: number | string;

  // The flat keys of the system the document describes (CONTRACT.md "Requests"): held to the same
  // rules as the field each stands for, and stored as sent.

  @ApiPropertyOptional({ description: alias('resources.nodes'), example: 1, oneOf: COUNT_SCHEMA })
  @IsOptional()
  @IsCount()
  nodes?: number | string;

  @ApiPropertyOptional({ description: alias('resources.cpu'), example: '8', oneOf: COUNT_SCHEMA })
  @IsOptional()
  @IsCount()
  cpu?: number | string;

  @ApiPropertyOptional({ description: alias('resources.memory'), example: '16G' })
  @IsOptional()
  @IsString()
  @Matches(MEMORY_SYNTAX, { message: `memory ${MEMORY_MESSAGE}` })
  memory?: string;

  @ApiPropertyOptional({ description: alias('resources.time_limit'), example: 120, oneOf: COUNT_SCHEMA })
  @IsOptional()
  @IsCount()
  time_limit?: number | string;

  @ApiPropertyOptional({
    description: alias('resources.gpu'),
    example: '1',
    nullable: true,
    oneOf: COUNT_SCHEMA,
  })
  @IsOptional()
  @IsCount({ nullable: true })
  gpu?: number | string | null;

  @ApiPropertyOptional({
    description: alias('environment.VLLM_MODEL'),
    example: 'Qwen/Qwen2.5-0.5B-Instruct',
  })
  @IsOptional()
  @IsEnvironmentValue()
  model?: string | number | boolean;

  @ApiPropertyOptional({
    description: alias('environment.VLLM_MAX_MODEL_LEN'),
    example: 4096,
    oneOf: [{ type: 'integer' }, { type: 'string' }],
  })
  @IsOptional()
  @IsEnvironmentValue()
  max_model_len?: string | number | boolean;

  @ApiPropertyOptional({
    description: alias('environment.VLLM_GPU_MEMORY_UTILIZATION'),
    example: 0.9,
    oneOf: [{ type: 'number' }, { type: 'string' }],
  })
  @IsOptional()
  @IsEnvironmentValue()
  gpu_memory_utilization?: string | number | boolean;

  @ApiPropertyOptional({
    description: alias('environment.VLLM_PORT'),
    example: 8001,
    oneOf: [{ type: 'integer' }, { type: 'string' }],
  })
  @IsOptional()
  @IsEnvironmentValue()
  replica_port?: string | number | boolean;

  @ApiPropertyOptional({
    description:
      "The replica group's base port (the recipe's `ports.base`): replica i prefers base_port + i. " +
      'Lands in the port variable of the recipe (`VLLM_PORT` for vLLM), so `config.environment` setting that ' +
      'variable wins; `replica_port` naming another port is refused',
    example: 8001,
    oneOf: COUNT_SCHEMA,
  })
  @IsOptional()
  @IsCount()
  base_port?: number | string;

  @ApiPropertyOptional({
    description:
      'Walltime rollover (on unless false): ahead of the time limit a successor job is submitted; ' +
      'traffic moves to it once it is ready, and the old job finishes its in-flight requests and is ' +
      'cancelled. The service keeps its id; `job_id` is the current job, `generations` the history. ' +
      'A vector database restarts on the same storage instead (a short 503 with Retry-After)',
    example: true,
    type: Boolean,
  })
  @IsOptional()
  @IsBoolean({ message: 'rollover must be true or false (a JSON boolean)' })
  rollover?: boolean;

  @ApiPropertyOptional({
    description:
      'Minutes (decimals allowed) without a data-plane request (prompt, /v1, vector-db, Qdrant pass-through) after ' +
      'which the service is stopped and shows `idle`; status reads, logs and metrics scrapes are not use. The next ' +
      'data-plane request starts it again under the same id (answered 503 with Retry-After meanwhile). Off when ' +
      'absent; single-node recipes only',
    example: 30,
    oneOf: [{ type: 'number' }, { type: 'string' }],
  })
  @IsOptional()
  @IsIdleTimeout()
  idle_timeout?: number | string;
}

export class CreateServiceDto implements CreateServiceRequest {
  @ApiProperty({
    description: 'Recipe, as `category/name` or bare `name`',
    example: 'inference/vllm-single-node',
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  // Each part starts with a letter or digit, as recipe names and categories do: "..", "." and
  // ".hidden" never name a recipe, whatever a catalogue lookup would make of them.
  @Matches(/^[A-Za-z0-9][A-Za-z0-9_.-]*(\/[A-Za-z0-9][A-Za-z0-9_.-]*)?$/, {
    message:
      'recipe_name must look like category/name or name: letters, digits, "_", "." and "-", each part starting with a letter or digit',
  })
  recipe_name!: string;

  @ApiPropertyOptional({ type: ServiceConfigDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => ServiceConfigDto)
  config?: ServiceConfigDto;
}

export const ACCEPTED_STATUS_UPDATES = ['cancelled'] as const;

export class UpdateStatusDto implements UpdateStatusRequest {
  @ApiProperty({
    description: 'The only accepted value is "cancelled"',
    example: 'cancelled',
    enum: ACCEPTED_STATUS_UPDATES,
  })
  @IsString()
  @IsIn(ACCEPTED_STATUS_UPDATES, { message: 'status must be "cancelled" (the only status a client may set)' })
  status!: string;
}
