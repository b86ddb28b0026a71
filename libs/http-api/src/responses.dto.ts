import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ENTRY_STATUSES,
  GROUP_OVERALL_STATUSES,
  ROLLOVER_STATES,
  SERVICE_STATUSES,
  type AvailableModelsResponse,
  type CancelResponse,
  type CollectionInfoResponse,
  type CollectionsResponse,
  type DataPlaneError,
  type EntryStatus,
  type ErrorBody,
  type GenerationRecord,
  type GroupCancelResponse,
  type GroupOverallStatus,
  type GroupRecord,
  type GroupStatusResponse,
  type GroupSummary,
  type HttpSdTargetGroup,
  type LogsResponse,
  type ModelInfo,
  type ModelSearchItem,
  type ModelSearchResponse,
  type NodeJobRecord,
  type PromptResponse,
  type PromptUsage,
  type QueueInfo,
  type RecipeDetail,
  type RecipeSummary,
  type ReplicaRecord,
  type ReplicaStatus,
  type RolloverInfo,
  type RolloverState,
  type SearchHit,
  type SearchResults,
  type ServiceConfig,
  type ServiceRecord,
  type ServiceStatus,
  type ServiceStatusResponse,
  type ServiceSummary,
  type Timeline,
  type VectorDbAck,
  type VectorDbServicesResponse,
  type VllmModelsResponse,
  type VllmServicesResponse,
} from '@aiplane/contracts';

/*
 * Response shapes for the OpenAPI document. Nothing validates responses at runtime; these classes
 * exist so Swagger shows the contract's records with examples. Each class implements its shape from
 * @aiplane/contracts, the one every process shares, so the two cannot drift apart unnoticed.
 */

const EXAMPLE_ID = '3652098';
const EXAMPLE_GROUP_ID = 'sg-3652098';
const EXAMPLE_TIME = '2025-11-27T16:12:03.412Z';

export class ErrorBodyDto implements ErrorBody {
  @ApiProperty({ example: 404 })
  statusCode!: number;

  @ApiProperty({ example: 'Not Found' })
  error!: string;

  @ApiProperty({ example: 'Service 3652098 not found' })
  message!: string;

  @ApiPropertyOptional({
    description: 'Id of this request in every log line of every hop',
    example: '0b6c1c8e-3f41-4a4e-9a51-5f2f3c1d7a10',
  })
  request_id?: string;
}

export class QueueDto implements QueueInfo {
  @ApiProperty({
    type: Number,
    nullable: true,
    description:
      "1 = the next to start among the pending jobs of its partition (every user's jobs the scheduler " +
      'shows, by priority). null until the worker has read the queue, and under the local executor, ' +
      'which has no queue (it starts jobs at once)',
    example: 1,
  })
  position!: number | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: "The scheduler's pending reason (SLURM: `Resources`, `Priority`, `QOSMaxGRESPerUser`, ...)",
    example: 'Resources',
  })
  reason!: string | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description:
      "When the scheduler expects the job to start (SLURM's `squeue --start`), or null without an estimate",
    example: EXAMPLE_TIME,
  })
  estimated_start!: string | null;
}

export class TimelineDto implements Timeline {
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When the first job was submitted to the scheduler',
    example: EXAMPLE_TIME,
  })
  submitted_at!: string | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When the first job started on its node; null while queued',
    example: EXAMPLE_TIME,
  })
  started_at!: string | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When its readiness probe first passed (it first served); null until then',
    example: EXAMPLE_TIME,
  })
  ready_at!: string | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When it ended (its last job); null while it lives',
    example: null,
  })
  ended_at!: string | null;
}

export class GenerationDto implements GenerationRecord {
  @ApiProperty({ description: 'The scheduler job of this generation', example: EXAMPLE_ID })
  job_id!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: EXAMPLE_TIME })
  started_at!: string | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'null while it runs',
    example: null,
  })
  ended_at!: string | null;
}

export class RolloverDto implements RolloverInfo {
  @ApiProperty({
    enum: ROLLOVER_STATES,
    description:
      '`off` (no rollover: `config.rollover: false`, ended, or a time limit too short, see warnings), ' +
      '`scheduled` (a successor job is submitted ahead of the time limit), `successor_pending`, ' +
      '`successor_starting`, `draining` (the successor serves; the old job finishes its requests and ' +
      'is cancelled), `restarting` (a vector database: the old job stopped, the new one starts on ' +
      'the same storage; 503 with Retry-After meanwhile), `late` (the successor cannot be ready ' +
      'before the limit; the service ends at its limit)',
    example: 'scheduled',
  })
  state!: RolloverState;

  @ApiProperty({ type: String, nullable: true, description: 'The state in words', example: null })
  message!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The successor job while it queues or starts',
    example: null,
  })
  successor_job_id!: string | null;
}

const TIMELINE_DOC = 'The service as a whole, across walltime rollovers';
const GENERATIONS_DOC =
  'Every scheduler job it ran as, oldest first (walltime rollover); the last one is `job_id`. Any of ' +
  'these job ids names this service on every endpoint';

const QUEUE_DOC =
  'Present exactly while the status is `pending` (absent, never null, otherwise): where the job stands in the queue';

export class DataPlaneErrorDto implements DataPlaneError {
  @ApiProperty({ enum: [false], example: false })
  success!: false;

  @ApiProperty({ example: 'Service not ready' })
  error!: string;

  @ApiProperty({ example: 'Service 3652098 is configuring; retry when its status is running' })
  message!: string;

  @ApiPropertyOptional({ enum: SERVICE_STATUSES, example: 'configuring' })
  status?: ServiceStatus;

  @ApiPropertyOptional({
    type: [String],
    description: 'Replicas tried before giving up (groups only)',
    example: ['3652098:8001', '3652098:8002'],
  })
  attempted_replicas?: string[];

  @ApiPropertyOptional({
    type: QueueDto,
    description: "On a 503 for a pending service: its record's queue (see Retry-After)",
  })
  queue?: QueueDto;
}

const WARNINGS_DESCRIPTION =
  'What a person should know that did not stop the create: a model that fits its GPUs only without enough KV-cache headroom, or whose size could not be checked. Always present; [] when none.';

const CONFIG_EXAMPLE: ServiceConfig = {
  environment: { VLLM_MODEL: 'gpt2', HF_TOKEN: '***' },
  resources: { nodes: 1, cpu: 8, memory: '64G', time_limit: 120, gpu: 4 },
};

export class ServiceRecordDto implements ServiceRecord {
  @ApiProperty({ description: 'The scheduler job id', example: EXAMPLE_ID })
  id!: string;

  @ApiProperty({ example: `inference/vllm-single-node-${EXAMPLE_ID}` })
  name!: string;

  @ApiProperty({ description: 'Canonical `category/name`', example: 'inference/vllm-single-node' })
  recipe_name!: string;

  @ApiProperty({ enum: SERVICE_STATUSES, example: 'running' })
  status!: ServiceStatus;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'The config as sent, secret values replaced by "***"',
    example: CONFIG_EXAMPLE,
  })
  config!: ServiceConfig;

  @ApiProperty({ format: 'date-time', example: EXAMPLE_TIME })
  created_at!: string;

  @ApiProperty({ format: 'date-time', example: EXAMPLE_TIME })
  updated_at!: string;

  @ApiProperty({ type: String, nullable: true, example: 'http://mel2013:8001' })
  endpoint!: string | null;

  @ApiProperty({ example: EXAMPLE_ID })
  job_id!: string;

  @ApiProperty({ enum: ['service'], example: 'service' })
  type!: 'service';

  @ApiProperty({ type: [String], description: WARNINGS_DESCRIPTION, example: [] })
  warnings!: string[];
  @ApiPropertyOptional({ type: QueueDto, description: QUEUE_DOC })
  queue?: QueueDto;

  @ApiProperty({ type: TimelineDto, description: TIMELINE_DOC })
  timeline!: TimelineDto;

  @ApiProperty({ type: [GenerationDto], description: GENERATIONS_DOC })
  generations!: GenerationDto[];

  @ApiProperty({ type: RolloverDto, description: 'Its walltime rollover' })
  rollover!: RolloverDto;
}

export class ReplicaDto implements ReplicaRecord {
  @ApiProperty({ description: '`<job_id>:<port>`', example: `${EXAMPLE_ID}:8001` })
  id!: string;

  @ApiProperty({ example: EXAMPLE_ID })
  job_id!: string;

  @ApiProperty({ example: 0 })
  node_index!: number;

  @ApiProperty({ example: 0 })
  replica_index!: number;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'The port actually bound; null until the replica has bound one',
    example: 8001,
  })
  port!: number | null;

  @ApiProperty({ type: [String], description: 'GPU indices on the node, as strings', example: ['0'] })
  gpu_ids!: string[];

  @ApiProperty({ enum: SERVICE_STATUSES, example: 'running' })
  status!: ServiceStatus;

  @ApiProperty({ type: String, nullable: true, example: 'http://mel2013:8001' })
  endpoint!: string | null;
}

export class NodeJobDto implements NodeJobRecord {
  @ApiProperty({ example: EXAMPLE_ID })
  job_id!: string;

  @ApiProperty({ example: 0 })
  node_index!: number;

  @ApiProperty({ type: String, nullable: true, example: 'mel2013' })
  node!: string | null;

  @ApiProperty({ type: [ReplicaDto] })
  replicas!: ReplicaDto[];

  @ApiPropertyOptional({ type: QueueDto, description: `${QUEUE_DOC} (this node job)` })
  queue?: QueueDto;

  @ApiProperty({ type: TimelineDto, description: 'This node job alone' })
  timeline!: TimelineDto;
}

export class ReplicaGroupRecordDto implements GroupRecord {
  @ApiProperty({ example: EXAMPLE_GROUP_ID })
  id!: string;

  @ApiProperty({ example: EXAMPLE_GROUP_ID })
  group_id!: string;

  @ApiProperty({ example: EXAMPLE_ID })
  job_id!: string;

  @ApiProperty({ enum: ['replica_group'], example: 'replica_group' })
  type!: 'replica_group';

  @ApiProperty({ example: `inference/vllm-replicas-${EXAMPLE_ID}` })
  name!: string;

  @ApiProperty({ example: 'inference/vllm-replicas' })
  recipe_name!: string;

  @ApiProperty({ enum: GROUP_OVERALL_STATUSES, example: 'running' })
  status!: GroupOverallStatus;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { resources: { gpu: 4 }, gpu_per_replica: 1 },
  })
  config!: ServiceConfig;

  @ApiProperty({ format: 'date-time', example: EXAMPLE_TIME })
  created_at!: string;

  @ApiProperty({ format: 'date-time', example: EXAMPLE_TIME })
  updated_at!: string;

  @ApiProperty({ example: 4 })
  total_replicas!: number;

  @ApiProperty({ example: 1 })
  gpu_per_replica!: number;

  @ApiProperty({ example: 8001 })
  base_port!: number;

  @ApiProperty({ type: [NodeJobDto] })
  node_jobs!: NodeJobDto[];

  @ApiProperty({ type: [String], description: WARNINGS_DESCRIPTION, example: [] })
  warnings!: string[];
  @ApiPropertyOptional({
    type: QueueDto,
    description: `${QUEUE_DOC}: that of the node job nearest to starting`,
  })
  queue?: QueueDto;

  @ApiProperty({ type: TimelineDto, description: TIMELINE_DOC })
  timeline!: TimelineDto;

  @ApiProperty({ type: [GenerationDto], description: `${GENERATIONS_DOC} (its first node job's)` })
  generations!: GenerationDto[];

  @ApiProperty({ type: RolloverDto, description: 'Its walltime rollover' })
  rollover!: RolloverDto;
}

export class ServiceStatusDto implements ServiceStatusResponse {
  @ApiProperty({ example: EXAMPLE_ID })
  id!: string;

  @ApiProperty({ enum: ENTRY_STATUSES, example: 'configuring' })
  status!: EntryStatus;

  @ApiPropertyOptional({ type: QueueDto, description: `${QUEUE_DOC}, as on the record` })
  queue?: QueueDto;
}

export class CancelResponseDto implements CancelResponse {
  @ApiProperty({ enum: [true], example: true })
  success!: true;

  @ApiProperty({ example: `Service ${EXAMPLE_ID} status updated to cancelled` })
  message!: string;

  @ApiProperty({ example: EXAMPLE_ID })
  service_id!: string;

  @ApiProperty({ enum: ['cancelled'], example: 'cancelled' })
  status!: 'cancelled';
}

export class GroupCancelResponseDto implements GroupCancelResponse {
  @ApiProperty({ enum: [true], example: true })
  success!: true;

  @ApiProperty({ example: `Service group ${EXAMPLE_ID} status updated to cancelled` })
  message!: string;

  @ApiProperty({ example: EXAMPLE_ID })
  group_id!: string;

  @ApiProperty({ enum: ['cancelled'], example: 'cancelled' })
  status!: 'cancelled';

  @ApiProperty({ example: 4 })
  replicas_updated!: number;
}

export class LogsDto implements LogsResponse {
  @ApiProperty({
    description: 'Last lines of stdout and stderr (and of each replica for groups)',
    example: '=== STDOUT ===\nINFO: Started server process\n=== STDERR ===\n',
  })
  logs!: string;
}

export class PrometheusTargetGroupDto implements HttpSdTargetGroup {
  @ApiProperty({
    type: [String],
    description: 'The `host:port` of the API the caller reached (the control plane, never a workload)',
    example: ['127.0.0.1:8001'],
  })
  targets!: string[];

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    description:
      "`__metrics_path__` (the service's metrics route under this API), `__scheme__` when https, " +
      '`service_id`, `recipe_name` and `kind`. No `replica_id`: the scraped samples carry it per replica.',
    example: {
      __metrics_path__: `/api/v1/services/${EXAMPLE_GROUP_ID}/metrics`,
      service_id: EXAMPLE_GROUP_ID,
      recipe_name: 'inference/vllm-replicas',
      kind: 'vllm',
    },
  })
  labels!: Record<string, string>;
}

export class GroupSummaryDto implements GroupSummary {
  @ApiProperty({ example: EXAMPLE_GROUP_ID })
  id!: string;

  @ApiProperty({ example: EXAMPLE_GROUP_ID })
  group_id!: string;

  @ApiProperty({ example: 'inference/vllm-replicas' })
  recipe_name!: string;

  @ApiProperty({ enum: GROUP_OVERALL_STATUSES, example: 'partially_running' })
  overall_status!: GroupOverallStatus;

  @ApiProperty({ example: 4 })
  total_replicas!: number;

  @ApiProperty({ example: 3 })
  healthy_replicas!: number;

  @ApiProperty({ format: 'date-time', example: EXAMPLE_TIME })
  created_at!: string;
}

export class ReplicaStatusDto implements ReplicaStatus {
  @ApiProperty({ example: `${EXAMPLE_ID}:8001` })
  id!: string;

  @ApiProperty({ enum: SERVICE_STATUSES, example: 'running' })
  status!: ServiceStatus;

  @ApiProperty({ type: String, nullable: true, example: 'http://mel2013:8001' })
  endpoint!: string | null;

  @ApiProperty({ example: true })
  healthy!: boolean;
}

export class GroupStatusDto implements GroupStatusResponse {
  @ApiProperty({ example: EXAMPLE_GROUP_ID })
  group_id!: string;

  @ApiProperty({ enum: GROUP_OVERALL_STATUSES, example: 'partially_running' })
  overall_status!: GroupOverallStatus;

  @ApiProperty({ example: 4 })
  total_replicas!: number;

  @ApiProperty({ example: 3 })
  healthy_replicas!: number;

  @ApiProperty({ example: 1 })
  starting_replicas!: number;

  @ApiProperty({ example: 0 })
  pending_replicas!: number;

  @ApiProperty({ example: 0 })
  failed_replicas!: number;

  @ApiProperty({ type: [ReplicaStatusDto] })
  replica_statuses!: ReplicaStatusDto[];

  @ApiPropertyOptional({ type: QueueDto, description: `${QUEUE_DOC}, as on the group record` })
  queue?: QueueDto;
}

export class PromptUsageDto implements PromptUsage {
  @ApiProperty({ example: 7 })
  prompt_tokens!: number;

  @ApiProperty({ example: 23 })
  completion_tokens!: number;

  @ApiProperty({ example: 30 })
  total_tokens!: number;
}

export class PromptResponseDto implements PromptResponse {
  @ApiProperty({ enum: [true], example: true })
  success!: true;

  @ApiProperty({ example: 'Why do programmers prefer dark mode? Because light attracts bugs.' })
  text!: string;

  @ApiProperty({
    description: 'Same string as `text`',
    example: 'Why do programmers prefer dark mode? Because light attracts bugs.',
  })
  response!: string;

  @ApiProperty({ type: PromptUsageDto })
  usage!: PromptUsageDto;

  @ApiProperty({ example: EXAMPLE_ID })
  service_id!: string;

  @ApiProperty({ enum: ['chat', 'completions'], example: 'chat' })
  endpoint_used!: 'chat' | 'completions';

  @ApiProperty({ example: 'Qwen/Qwen2.5-0.5B-Instruct' })
  model!: string;

  @ApiPropertyOptional({
    description: 'Groups only: the replica that answered',
    example: `${EXAMPLE_ID}:8002`,
  })
  routed_to?: string;

  @ApiPropertyOptional({ description: 'Groups only', example: EXAMPLE_ID })
  group_id?: string;

  @ApiPropertyOptional({ description: 'Groups only', example: 4 })
  total_replicas?: number;
}

export class ServiceSummaryDto implements ServiceSummary {
  @ApiProperty({ example: EXAMPLE_ID })
  id!: string;

  @ApiProperty({ example: `inference/vllm-single-node-${EXAMPLE_ID}` })
  name!: string;

  @ApiProperty({ example: 'inference/vllm-single-node' })
  recipe_name!: string;

  @ApiProperty({ type: String, nullable: true, example: 'http://mel2013:8001' })
  endpoint!: string | null;

  @ApiProperty({ enum: ENTRY_STATUSES, example: 'running' })
  status!: EntryStatus;
}

export class VllmServicesDto implements VllmServicesResponse {
  @ApiProperty({ type: [ServiceSummaryDto] })
  vllm_services!: ServiceSummaryDto[];
}

export class VllmModelsDto implements VllmModelsResponse {
  @ApiProperty({ enum: [true], example: true })
  success!: true;

  @ApiProperty({
    type: [String],
    description: 'Ids of the models the workload serves',
    example: ['Qwen/Qwen2.5-0.5B-Instruct'],
  })
  models!: string[];

  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    description: "The workload's own OpenAI model objects (`GET /v1/models`'s `data`), vLLM extras kept",
    example: [
      {
        id: 'Qwen/Qwen2.5-0.5B-Instruct',
        object: 'model',
        created: 1764776400,
        owned_by: 'vllm',
        root: 'Qwen/Qwen2.5-0.5B-Instruct',
        parent: null,
        max_model_len: 4096,
      },
    ],
  })
  data!: Record<string, unknown>[];

  @ApiProperty({ example: EXAMPLE_ID })
  service_id!: string;

  @ApiProperty({ example: 'http://mel2013:8001' })
  endpoint!: string;
}

export class AvailableModelsDto implements AvailableModelsResponse {
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'Model architectures vLLM serves, by task',
    example: { text_generation: ['LlamaForCausalLM', 'Qwen2ForCausalLM', 'GPT2LMHeadModel'] },
  })
  supported_architectures!: Record<string, unknown>;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { small: ['Qwen/Qwen2.5-0.5B-Instruct', 'gpt2'], medium: ['Qwen/Qwen2.5-7B-Instruct'] },
  })
  examples!: Record<string, unknown>;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { '7B': { gpu: 1, memory: '32G' }, '70B': { gpu: 4, memory: '256G' } },
  })
  resource_guidelines!: Record<string, unknown>;
}

export class ModelSearchItemDto implements ModelSearchItem {
  @ApiProperty({ example: 'Qwen/Qwen2.5-7B-Instruct' })
  id!: string;

  @ApiProperty({ example: 1523012 })
  downloads!: number;

  @ApiProperty({ example: 812 })
  likes!: number;

  @ApiProperty({ type: String, nullable: true, example: 'Qwen2ForCausalLM' })
  architecture!: string | null;

  @ApiProperty({ example: true })
  vllm_compatible!: boolean;

  @ApiProperty({ type: String, nullable: true, format: 'date-time', example: '2024-09-16T11:55:40.000Z' })
  created_at!: string | null;

  @ApiProperty({ type: [String], example: ['transformers', 'text-generation', 'conversational'] })
  tags!: string[];
}

export class ModelSearchDto implements ModelSearchResponse {
  @ApiProperty({ type: [ModelSearchItemDto] })
  models!: ModelSearchItemDto[];

  @ApiProperty({ example: 1 })
  total!: number;
}

export class ModelInfoDto implements ModelInfo {
  @ApiProperty({ example: 'Qwen/Qwen2.5-7B-Instruct' })
  id!: string;

  @ApiProperty({ type: String, nullable: true, example: 'Qwen2ForCausalLM' })
  architecture!: string | null;

  @ApiProperty({ example: true })
  vllm_compatible!: boolean;

  @ApiProperty({ type: String, nullable: true, example: 'text-generation' })
  task_type!: string | null;

  @ApiProperty({ example: 1523012 })
  downloads!: number;

  @ApiProperty({ example: 812 })
  likes!: number;

  @ApiProperty({ type: [String], example: ['transformers', 'safetensors', 'text-generation'] })
  tags!: string[];

  @ApiProperty({ type: Number, nullable: true, example: 15231233024 })
  size_bytes!: number | null;

  @ApiProperty({ type: Number, nullable: true, example: 14.19 })
  size_gb!: number | null;

  @ApiProperty({ type: String, nullable: true, example: 'text-generation' })
  pipeline_tag!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'transformers' })
  library_name!: string | null;
}

export class VectorDbServicesDto implements VectorDbServicesResponse {
  @ApiProperty({ type: [ServiceSummaryDto] })
  vector_db_services!: ServiceSummaryDto[];
}

export class CollectionsDto implements CollectionsResponse {
  @ApiProperty({ example: true })
  success!: boolean;

  @ApiProperty({ type: [String], example: ['my_documents'] })
  collections!: string[];

  @ApiProperty({ example: '3642875' })
  service_id!: string;
}

export class CollectionInfoDto implements CollectionInfoResponse {
  @ApiProperty({ example: true })
  success!: boolean;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: "Qdrant's collection info, unchanged",
    example: {
      status: 'green',
      points_count: 2,
      config: { params: { vectors: { size: 384, distance: 'Cosine' } } },
    },
  })
  collection_info!: Record<string, unknown>;
}

/** Acknowledgement of a vector-db write; the orchestrator may add details next to these fields. */
export class VectorDbAckDto implements VectorDbAck {
  @ApiProperty({ example: true })
  success!: boolean;

  @ApiPropertyOptional({ example: "Collection 'my_documents' created" })
  message?: string;
}

export class SearchHitDto implements SearchHit {
  @ApiProperty({
    description: 'The id the point was stored with (unsigned integer or string)',
    oneOf: [{ type: 'integer', minimum: 0 }, { type: 'string' }],
    example: 1,
  })
  id!: number | string;

  @ApiProperty({ example: 0.9999 })
  score!: number;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    example: { text: 'First document' },
  })
  payload!: Record<string, unknown> | null;
}

export class SearchResultsDto implements SearchResults {
  @ApiProperty({ example: true })
  success!: boolean;

  @ApiProperty({ type: [SearchHitDto] })
  results!: SearchHitDto[];

  @ApiProperty({ type: [SearchHitDto], description: 'Same list as `results`' })
  result!: SearchHitDto[];

  @ApiProperty({ example: 1 })
  num_results!: number;
}

export class RecipeSummaryDto implements RecipeSummary {
  @ApiProperty({ example: 'vllm-single-node' })
  name!: string;

  @ApiProperty({ example: 'inference' })
  category!: string;

  @ApiProperty({ example: 'inference/vllm-single-node' })
  path!: string;

  @ApiProperty({ example: 'vLLM OpenAI-compatible server on one node' })
  description!: string;

  @ApiProperty({ example: '1.0.0' })
  version!: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { nodes: 1, cpu: 8, memory: '64G', time_limit: 60, gpu: 4 },
  })
  resources!: Record<string, unknown>;

  @ApiProperty({ type: [Number], example: [8001] })
  ports!: number[];

  @ApiPropertyOptional({ example: 1 })
  gpu_per_replica?: number;

  @ApiPropertyOptional({ example: 8001 })
  base_port?: number;
}

export class RecipeDetailDto extends RecipeSummaryDto implements RecipeDetail {
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { VLLM_MODEL: 'Qwen/Qwen2.5-0.5B-Instruct', VLLM_HOST: '0.0.0.0' },
  })
  environment!: Record<string, string>;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'Documented parameters, by name',
    example: { VLLM_MODEL: { description: 'Hugging Face model id', default: 'Qwen/Qwen2.5-0.5B-Instruct' } },
  })
  parameters!: Record<string, unknown>;
}
