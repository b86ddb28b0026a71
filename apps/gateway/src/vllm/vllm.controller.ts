import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  AvailableModelsDto,
  ModelInfoDto,
  ModelSearchDto,
  PromptDto,
  PromptResponseDto,
  VllmModelsDto,
  VllmServicesDto,
} from '@aiplane/http-api';
import {
  NAME_PATTERN,
  NamePipe,
  OptionalIntPipe,
  OptionalTextPipe,
  ServiceIdPipe,
} from '@aiplane/server-kit';
import {
  ApiDataPlaneErrors,
  ApiErrors,
  ApiNameParam,
  ApiPrometheusText,
  ApiServiceIdParam,
} from '../common/api-docs';
import { PROMPT_EXAMPLES, PROMPT_RESPONSE_EXAMPLES } from '../common/doc-examples';
import { upstreamPath, withQuery } from '../common/upstream-path';
import { OrchestratorClient } from '../transport/orchestrator.client';

@ApiTags('vllm')
@Controller('vllm')
export class VllmController {
  constructor(private readonly orchestrator: OrchestratorClient) {}

  @Get('services')
  @ApiOperation({ summary: 'List vLLM services with their endpoints' })
  @ApiOkResponse({ type: VllmServicesDto })
  @ApiErrors()
  async services(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/services/vllm/services`);
  }

  @Get('available-models')
  @ApiOperation({ summary: 'Supported architectures, example models and resource guidelines' })
  @ApiOkResponse({ type: AvailableModelsDto })
  @ApiErrors()
  async availableModels(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/services/vllm/available-models`);
  }

  @Get('search-models')
  @ApiOperation({
    summary: 'Search the Hugging Face Hub for models vLLM can serve',
    description: 'Calls the Hub from the cluster side; 503 when the Hub is unreachable.',
  })
  @ApiQuery({ name: 'query', required: false, description: 'Free-text search', example: 'qwen' })
  @ApiQuery({ name: 'limit', required: false, description: 'At most this many results (1-100)', example: 10 })
  @ApiQuery({ name: 'architecture', required: false, example: 'Qwen2ForCausalLM' })
  @ApiQuery({ name: 'sort_by', required: false, description: 'Sort key', example: 'downloads' })
  @ApiOkResponse({ type: ModelSearchDto })
  @ApiErrors(400, 502)
  async searchModels(
    @Query('query', new OptionalTextPipe(200)) query: string | undefined,
    @Query('limit', new OptionalIntPipe(1, 100)) limit: number | undefined,
    @Query('architecture', new OptionalTextPipe(128, NAME_PATTERN)) architecture: string | undefined,
    @Query('sort_by', new OptionalTextPipe(64, NAME_PATTERN)) sortBy: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const path = withQuery(upstreamPath`/services/vllm/search-models`, {
      query,
      limit,
      architecture,
      sort_by: sortBy,
    });
    await this.orchestrator.forward(req, res, path);
  }

  @Get('model-info/:org/:name')
  @ApiOperation({ summary: 'Details of one Hugging Face model: architecture, size, vLLM compatibility' })
  @ApiNameParam('org', 'Model owner on the Hub', 'Qwen')
  @ApiNameParam('name', 'Model name on the Hub', 'Qwen2.5-7B-Instruct')
  @ApiOkResponse({ type: ModelInfoDto })
  @ApiErrors(400, 404, 502)
  async modelInfo(
    @Param('org', NamePipe) org: string,
    @Param('name', NamePipe) name: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/services/vllm/model-info/${org}/${name}`);
  }

  @Get(':id/models')
  @ApiOperation({ summary: 'Models a running vLLM service serves' })
  @ApiServiceIdParam()
  @ApiOkResponse({ type: VllmModelsDto })
  @ApiDataPlaneErrors()
  async models(
    @Param('id', ServiceIdPipe) id: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/services/vllm/${id}/models`);
  }

  @Post(':id/prompt')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Send a prompt to a vLLM service or replica group',
    description:
      'Chat endpoint first, completions when the model has no chat template. Groups route round-robin ' +
      'over healthy replicas and add `routed_to`, `group_id`, `total_replicas`.',
  })
  @ApiServiceIdParam()
  @ApiBody({ type: PromptDto, examples: PROMPT_EXAMPLES })
  @ApiOkResponse({ type: PromptResponseDto, examples: PROMPT_RESPONSE_EXAMPLES })
  @ApiDataPlaneErrors()
  async prompt(
    @Param('id', ServiceIdPipe) id: string,
    @Body() body: PromptDto,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/services/vllm/${id}/prompt`, { body });
  }

  @Get(':id/metrics')
  @ApiOperation({ summary: 'Prometheus metrics of a vLLM service (all replicas for a group)' })
  @ApiServiceIdParam()
  @ApiPrometheusText('vLLM')
  @ApiErrors(400, 404, 502)
  async metrics(
    @Param('id', ServiceIdPipe) id: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/services/vllm/${id}/metrics`);
  }
}
