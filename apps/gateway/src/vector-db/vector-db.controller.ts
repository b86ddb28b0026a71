import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Req, Res } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  CollectionInfoDto,
  CollectionsDto,
  CreateCollectionDto,
  SearchPointsDto,
  SearchResultsDto,
  UpsertPointsDto,
  VectorDbAckDto,
  VectorDbServicesDto,
} from '@aiplane/http-api';
import {
  ApiDataPlaneErrors,
  ApiErrors,
  ApiNameParam,
  ApiPrometheusText,
  ApiServiceIdParam,
} from '../common/api-docs';
import { CREATE_COLLECTION_EXAMPLES, SEARCH_EXAMPLES, UPSERT_POINTS_EXAMPLES } from '../common/doc-examples';
import { NamePipe, ServiceIdPipe } from '@aiplane/server-kit';
import { upstreamPath } from '../common/upstream-path';
import { OrchestratorClient } from '../transport/orchestrator.client';

const CollectionParam = (): MethodDecorator => ApiNameParam('name', 'Collection name', 'my_documents');

@ApiTags('vector-db')
@Controller('vector-db')
export class VectorDbController {
  constructor(private readonly orchestrator: OrchestratorClient) {}

  @Get('services')
  @ApiOperation({ summary: 'List vector database (Qdrant) services' })
  @ApiOkResponse({ type: VectorDbServicesDto })
  @ApiErrors()
  async services(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/services/vector-db/services`);
  }

  @Get(':id/collections')
  @ApiOperation({ summary: 'List the collections of a Qdrant service' })
  @ApiServiceIdParam()
  @ApiOkResponse({ type: CollectionsDto })
  @ApiDataPlaneErrors()
  async collections(
    @Param('id', ServiceIdPipe) id: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/services/vector-db/${id}/collections`);
  }

  @Get(':id/collections/:name')
  @ApiOperation({ summary: 'Get information about a collection' })
  @ApiServiceIdParam()
  @CollectionParam()
  @ApiOkResponse({ type: CollectionInfoDto })
  @ApiDataPlaneErrors()
  async collection(
    @Param('id', ServiceIdPipe) id: string,
    @Param('name', NamePipe) name: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/services/vector-db/${id}/collections/${name}`);
  }

  @Put(':id/collections/:name')
  @ApiOperation({ summary: 'Create a collection', description: '409 if it already exists.' })
  @ApiServiceIdParam()
  @CollectionParam()
  @ApiBody({ type: CreateCollectionDto, examples: CREATE_COLLECTION_EXAMPLES })
  @ApiOkResponse({ type: VectorDbAckDto })
  @ApiDataPlaneErrors(409)
  async createCollection(
    @Param('id', ServiceIdPipe) id: string,
    @Param('name', NamePipe) name: string,
    @Body() body: CreateCollectionDto,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/services/vector-db/${id}/collections/${name}`, {
      body,
    });
  }

  @Delete(':id/collections/:name')
  @ApiOperation({ summary: 'Delete a collection and its points' })
  @ApiServiceIdParam()
  @CollectionParam()
  @ApiOkResponse({ type: VectorDbAckDto })
  @ApiDataPlaneErrors()
  async deleteCollection(
    @Param('id', ServiceIdPipe) id: string,
    @Param('name', NamePipe) name: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/services/vector-db/${id}/collections/${name}`);
  }

  @Put(':id/collections/:name/points')
  @ApiOperation({
    summary: 'Insert or update points',
    description:
      'Ids may be unsigned integers, UUIDs or any other string (stored under a deterministic UUID, ' +
      "the original id kept and returned). Every vector must have the collection's size (400 otherwise).",
  })
  @ApiServiceIdParam()
  @CollectionParam()
  @ApiBody({ type: UpsertPointsDto, examples: UPSERT_POINTS_EXAMPLES })
  @ApiOkResponse({ type: VectorDbAckDto })
  @ApiDataPlaneErrors()
  async upsertPoints(
    @Param('id', ServiceIdPipe) id: string,
    @Param('name', NamePipe) name: string,
    @Body() body: UpsertPointsDto,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.orchestrator.forward(
      req,
      res,
      upstreamPath`/services/vector-db/${id}/collections/${name}/points`,
      { body },
    );
  }

  @Post(':id/collections/:name/points/search')
  @HttpCode(200)
  @ApiOperation({ summary: 'Similarity search: the points nearest to a query vector' })
  @ApiServiceIdParam()
  @CollectionParam()
  @ApiBody({ type: SearchPointsDto, examples: SEARCH_EXAMPLES })
  @ApiOkResponse({ type: SearchResultsDto })
  @ApiDataPlaneErrors()
  async search(
    @Param('id', ServiceIdPipe) id: string,
    @Param('name', NamePipe) name: string,
    @Body() body: SearchPointsDto,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.orchestrator.forward(
      req,
      res,
      upstreamPath`/services/vector-db/${id}/collections/${name}/points/search`,
      { body },
    );
  }

  @Get(':id/metrics')
  @ApiOperation({ summary: 'Prometheus metrics of a Qdrant service' })
  @ApiServiceIdParam()
  @ApiPrometheusText('Qdrant')
  @ApiErrors(400, 404, 502)
  async metrics(
    @Param('id', ServiceIdPipe) id: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.orchestrator.forward(req, res, upstreamPath`/services/vector-db/${id}/metrics`);
  }
}
