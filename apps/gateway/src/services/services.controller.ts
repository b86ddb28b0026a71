import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiResponse,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  CancelResponseDto,
  CreateServiceDto,
  ErrorBodyDto,
  LogsDto,
  MAX_LOG_LINES,
  PrometheusTargetGroupDto,
  ReplicaGroupRecordDto,
  ServiceRecordDto,
  ServiceStatusDto,
  UpdateStatusDto,
} from '@aiplane/http-api';
import { CANCEL_EXAMPLES, CREATE_SERVICE_EXAMPLES } from '../common/doc-examples';
import { deprecationHeaders, deprecationHeadersDoc } from '../common/deprecation';
import { ApiErrors, ApiPrometheusText, ApiServiceIdParam } from '../common/api-docs';
import { OptionalIntPipe, ServiceIdPipe } from '@aiplane/server-kit';
import { forwardedOrigin } from '../common/forwarded-origin';
import { upstreamPath, withQuery } from '../common/upstream-path';
import { OrchestratorClient } from '../transport/orchestrator.client';

const RECORD_OR_GROUP = {
  oneOf: [{ $ref: getSchemaPath(ServiceRecordDto) }, { $ref: getSchemaPath(ReplicaGroupRecordDto) }],
};

@ApiTags('services')
@ApiExtraModels(ServiceRecordDto, ReplicaGroupRecordDto)
@Controller('services')
export class ServicesController {
  constructor(private readonly orchestrator: OrchestratorClient) {}

  @Post()
  @ApiOperation({
    summary: 'Start a service from a recipe',
    description:
      'Submits a SLURM job for the recipe. Recipes with `gpu_per_replica` create a replica group ' +
      '(gpu ÷ gpu_per_replica replicas per node) and return the group record.',
  })
  @ApiBody({ type: CreateServiceDto, examples: CREATE_SERVICE_EXAMPLES })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Makes the create safe to retry: every request with the same key (1-128 characters of ' +
      '`A-Z a-z 0-9 . _ : -`) answers with the same service, and the scheduler gets one job.',
  })
  @ApiCreatedResponse({ description: 'The record created (status `pending`)', schema: RECORD_OR_GROUP })
  @ApiErrors(400, 404, 502)
  async create(@Body() body: CreateServiceDto, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/services/start`, { body });
  }

  @Get()
  @ApiOperation({ summary: 'List services and replica groups' })
  @ApiOkResponse({
    description: 'Every record, groups included',
    schema: { type: 'array', items: RECORD_OR_GROUP },
  })
  @ApiErrors()
  async list(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/services`);
  }

  @Get('targets')
  @ApiOperation({
    summary: 'Prometheus HTTP service discovery',
    description:
      'For `http_sd_configs`: one target group per serving service (`running`) or replica group ' +
      '(`running`, `partially_running`, `degraded`). Targets point at this gateway, at the host:port ' +
      'you called it with, and `__metrics_path__` at `/api/v1/services/{id}/metrics`, which adds the ' +
      "workload's key (a workload's own port refuses every scrape without it) and merges a group's " +
      'replicas. Labels: `service_id`, `recipe_name`, `kind`; the scraped samples carry `service_id` ' +
      'and `replica_id` themselves, so set `honor_labels: true` in the scrape config to keep them.',
  })
  @ApiOkResponse({ type: PrometheusTargetGroupDto, isArray: true })
  @ApiResponse({
    status: 400,
    description:
      'The Host header is not `host[:port]` (a DNS name, IPv4 or [IPv6] address); the message says so',
    type: ErrorBodyDto,
  })
  @ApiErrors()
  async targets(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/services/targets`, {
      headers: forwardedOrigin(req),
    });
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a service (or group) record' })
  @ApiServiceIdParam()
  @ApiOkResponse({ description: 'The record', schema: RECORD_OR_GROUP })
  @ApiErrors(400, 404)
  async get(
    @Param('id', ServiceIdPipe) id: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/services/${id}`);
  }

  @Get(':id/status')
  @ApiOperation({
    summary: 'Get the status of a service',
    description: '`running` means a prompt sent now will be served.',
  })
  @ApiServiceIdParam()
  @ApiOkResponse({ type: ServiceStatusDto })
  @ApiErrors(400, 404)
  async status(
    @Param('id', ServiceIdPipe) id: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/services/${id}/status`);
  }

  @Post(':id/status')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Stop a service (recommended)',
    description:
      'Cancels the SLURM job; the record stays, with its history, for analysis. Cancelling twice is 200.',
  })
  @ApiServiceIdParam()
  @ApiBody({ type: UpdateStatusDto, examples: CANCEL_EXAMPLES })
  @ApiOkResponse({ type: CancelResponseDto })
  @ApiErrors(400, 404, 502)
  async updateStatus(
    @Param('id', ServiceIdPipe) id: string,
    @Body() body: UpdateStatusDto,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/services/${id}/status`, { body });
  }

  @Delete(':id')
  @ApiOperation({
    summary: 'Stop a service (legacy)',
    description:
      'Same effect as `POST /api/v1/services/{id}/status {"status":"cancelled"}`, which replaces it.',
    deprecated: true,
  })
  @ApiServiceIdParam()
  @ApiOkResponse({
    type: CancelResponseDto,
    headers: deprecationHeadersDoc('/api/v1/services/3652098/status'),
  })
  @ApiErrors(400, 404, 502)
  async stop(
    @Param('id', ServiceIdPipe) id: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/services/stop/${id}`, {
      method: 'POST',
      responseHeaders: deprecationHeaders(`/api/v1/services/${encodeURIComponent(id)}/status`),
    });
  }

  @Get(':id/logs')
  @ApiOperation({
    summary: 'Get the logs of a service',
    description:
      'Last lines of stdout and stderr (each replica for groups), in sections headed ' +
      '`=== STDOUT ===`, `=== STDERR ===`, `=== REPLICA <id> ===`.',
  })
  @ApiServiceIdParam()
  @ApiQuery({
    name: 'lines',
    required: false,
    description: `How many last lines (1-${MAX_LOG_LINES}, default 200)`,
    example: 200,
  })
  @ApiOkResponse({ type: LogsDto })
  @ApiErrors(400, 404)
  async logs(
    @Param('id', ServiceIdPipe) id: string,
    @Query('lines', new OptionalIntPipe(1, MAX_LOG_LINES)) lines: number | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.orchestrator.forward(req, res, withQuery(upstreamPath`/services/${id}/logs`, { lines }));
  }

  @Get(':id/metrics')
  @ApiOperation({ summary: "Prometheus metrics of a service's workload (all replicas for a group)" })
  @ApiServiceIdParam()
  @ApiPrometheusText('the workload')
  @ApiErrors(400, 404, 502)
  async metrics(
    @Param('id', ServiceIdPipe) id: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/services/${id}/metrics`);
  }
}
