import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  GroupCancelResponseDto,
  GroupStatusDto,
  GroupSummaryDto,
  ReplicaGroupRecordDto,
  UpdateStatusDto,
} from '@aiplane/http-api';
import { CANCEL_EXAMPLES } from '../common/doc-examples';
import { deprecationHeaders, deprecationHeadersDoc } from '../common/deprecation';
import { ApiErrors, ApiServiceIdParam } from '../common/api-docs';
import { ServiceIdPipe } from '@aiplane/server-kit';
import { upstreamPath } from '../common/upstream-path';
import { OrchestratorClient } from '../transport/orchestrator.client';

@ApiTags('service-groups')
@Controller('service-groups')
export class ServiceGroupsController {
  constructor(private readonly orchestrator: OrchestratorClient) {}

  @Get()
  @ApiOperation({ summary: 'List replica groups with their aggregate status' })
  @ApiOkResponse({ type: GroupSummaryDto, isArray: true })
  @ApiErrors()
  async list(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/service-groups`);
  }

  @Get(':id')
  @ApiOperation({
    summary: 'Get a replica group',
    description:
      'Replica count, job ids, nodes, ports and per-replica status. Accepts `sg-<job>` or the bare job id.',
  })
  @ApiServiceIdParam()
  @ApiOkResponse({ type: ReplicaGroupRecordDto })
  @ApiErrors(400, 404)
  async get(
    @Param('id', ServiceIdPipe) id: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/service-groups/${id}`);
  }

  @Get(':id/status')
  @ApiOperation({ summary: 'Aggregate status across all replicas' })
  @ApiServiceIdParam()
  @ApiOkResponse({ type: GroupStatusDto })
  @ApiErrors(400, 404)
  async status(
    @Param('id', ServiceIdPipe) id: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/service-groups/${id}/status`);
  }

  @Post(':id/status')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Stop a replica group (recommended)',
    description: 'Cancels the job(s) of every replica; the record stays for analysis.',
  })
  @ApiServiceIdParam()
  @ApiBody({ type: UpdateStatusDto, examples: CANCEL_EXAMPLES })
  @ApiOkResponse({ type: GroupCancelResponseDto })
  @ApiErrors(400, 404, 502)
  async updateStatus(
    @Param('id', ServiceIdPipe) id: string,
    @Body() body: UpdateStatusDto,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/service-groups/${id}/status`, { body });
  }

  @Delete(':id')
  @ApiOperation({
    summary: 'Stop a replica group (legacy)',
    description:
      'Same effect as `POST /api/v1/service-groups/{id}/status {"status":"cancelled"}`, which replaces it.',
    deprecated: true,
  })
  @ApiServiceIdParam()
  @ApiOkResponse({
    type: GroupCancelResponseDto,
    headers: deprecationHeadersDoc('/api/v1/service-groups/3652098/status'),
  })
  @ApiErrors(400, 404, 502)
  async stop(
    @Param('id', ServiceIdPipe) id: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/service-groups/${id}`, {
      responseHeaders: deprecationHeaders(`/api/v1/service-groups/${encodeURIComponent(id)}/status`),
    });
  }
}
