import { Body, Controller, Delete, Get, Inject, Param, Post, Put, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { CreateCollectionDto, PromptDto, SearchPointsDto, UpsertPointsDto } from '@aiplane/http-api';
import { CollectionNamePipe, ServiceIdPipe, type HttpForwarder } from '@aiplane/server-kit';
import { PROXY_FORWARDER } from '../platform/platform.module';

/**
 * The orchestrator is the one entry point on the cluster, but it carries no data-plane logic:
 * prompts, vector-db calls and metrics are streamed to and from the proxy, which owns routing and retries.
 * Bodies are validated here too because on-cluster clients call this port directly.
 */
@Controller('services')
export class DataPlaneController {
  constructor(@Inject(PROXY_FORWARDER) private readonly proxy: HttpForwarder) {}

  @Post('vllm/:id/prompt')
  prompt(
    @Param('id', ServiceIdPipe) _id: string,
    @Body() _body: PromptDto,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    return this.proxy.forward(req, res, req.originalUrl);
  }

  @Get('vllm/:id/models')
  models(@Param('id', ServiceIdPipe) _id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.proxy.forward(req, res, req.originalUrl);
  }

  @Get('vllm/:id/metrics')
  vllmMetrics(
    @Param('id', ServiceIdPipe) _id: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    return this.proxy.forward(req, res, req.originalUrl);
  }

  @Get(':id/metrics')
  metrics(@Param('id', ServiceIdPipe) _id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.proxy.forward(req, res, req.originalUrl);
  }

  @Get('vector-db/:id/collections')
  collections(
    @Param('id', ServiceIdPipe) _id: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    return this.proxy.forward(req, res, req.originalUrl);
  }

  @Get('vector-db/:id/collections/:name')
  collection(
    @Param('id', ServiceIdPipe) _id: string,
    @Param('name', CollectionNamePipe) _name: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    return this.proxy.forward(req, res, req.originalUrl);
  }

  @Put('vector-db/:id/collections/:name')
  createCollection(
    @Param('id', ServiceIdPipe) _id: string,
    @Param('name', CollectionNamePipe) _name: string,
    @Body() _body: CreateCollectionDto,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    return this.proxy.forward(req, res, req.originalUrl);
  }

  @Delete('vector-db/:id/collections/:name')
  deleteCollection(
    @Param('id', ServiceIdPipe) _id: string,
    @Param('name', CollectionNamePipe) _name: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    return this.proxy.forward(req, res, req.originalUrl);
  }

  @Put('vector-db/:id/collections/:name/points')
  upsertPoints(
    @Param('id', ServiceIdPipe) _id: string,
    @Param('name', CollectionNamePipe) _name: string,
    @Body() _body: UpsertPointsDto,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    return this.proxy.forward(req, res, req.originalUrl);
  }

  @Post('vector-db/:id/collections/:name/points/search')
  search(
    @Param('id', ServiceIdPipe) _id: string,
    @Param('name', CollectionNamePipe) _name: string,
    @Body() _body: SearchPointsDto,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    return this.proxy.forward(req, res, req.originalUrl);
  }

  @Get('vector-db/:id/metrics')
  vectorDbMetrics(
    @Param('id', ServiceIdPipe) _id: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    return this.proxy.forward(req, res, req.originalUrl);
  }
}
