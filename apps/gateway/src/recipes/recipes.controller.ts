import { Controller, Get, Param, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { RecipeDetailDto, RecipeSummaryDto } from '@aiplane/http-api';
import { ApiErrors, ApiNameParam } from '../common/api-docs';
import { NamePipe } from '@aiplane/server-kit';
import { upstreamPath } from '../common/upstream-path';
import { OrchestratorClient } from '../transport/orchestrator.client';

@ApiTags('recipes')
@Controller('recipes')
export class RecipesController {
  constructor(private readonly orchestrator: OrchestratorClient) {}

  @Get()
  @ApiOperation({ summary: 'List the recipes services can be started from' })
  @ApiOkResponse({ type: RecipeSummaryDto, isArray: true })
  @ApiErrors()
  async list(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/recipes`);
  }

  @Get(':name')
  @ApiOperation({
    summary: 'Get a recipe by bare name',
    description: 'Resources, ports, environment defaults and documented parameters.',
  })
  @ApiNameParam('name', 'Recipe name', 'vllm-single-node')
  @ApiOkResponse({ type: RecipeDetailDto })
  @ApiErrors(400, 404)
  async get(@Param('name', NamePipe) name: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/recipes/${name}`);
  }

  @Get(':category/:name')
  @ApiOperation({ summary: 'Get a recipe by `category/name`' })
  @ApiNameParam('category', 'Recipe category', 'inference')
  @ApiNameParam('name', 'Recipe name', 'vllm-single-node')
  @ApiOkResponse({ type: RecipeDetailDto })
  @ApiErrors(400, 404)
  async getInCategory(
    @Param('category', NamePipe) category: string,
    @Param('name', NamePipe) name: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/recipes/${category}/${name}`);
  }
}
