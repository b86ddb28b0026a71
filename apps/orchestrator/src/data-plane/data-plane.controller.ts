import { Body, Controller, Get, Inject, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { PromptDto } from '@aiplane/contracts';
import type { HttpForwarder } from '@aiplane/server-kit';
import { PROXY_FORWARDER } from '../platform/platform.module';
import { ServiceIdPipe } from '../services/service-id.pipe';

/**
 * The orchestrator is the one entry point on the cluster, but it carries no data-plane logic:
 * prompts and metrics are streamed to and from the proxy, which owns routing and retries.
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
}
