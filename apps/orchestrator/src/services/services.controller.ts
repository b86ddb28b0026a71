import { once } from 'node:events';
import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ROUTES, routePath, servedPath, type GroupRecord, type ServiceRecord } from '@aiplane/contracts';
import { CreateServiceDto, UpdateStatusDto } from '@aiplane/http-api';
import { BadRequestError, OptionalBoolPipe, ServiceIdPipe } from '@aiplane/server-kit';
import { MAX_LOG_LINES, ServicesService, type CancelOutcome, type ListedService } from './services.service';

const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,128}$/;

@Controller()
export class ServicesController {
  constructor(private readonly services: ServicesService) {}

  // 200, not Nest's 201: the document's own system answers 200 and its clients check for exactly that.
  @Post(servedPath('services.create', 'orchestrator'))
  @HttpCode(ROUTES['services.create'].status)
  start(
    @Body() body: CreateServiceDto,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<ServiceRecord | GroupRecord> {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new BadRequestError('Idempotency-Key must be 1-128 characters of A-Z a-z 0-9 . _ : -');
    }
    return this.services.start(body, idempotencyKey);
  }

  @Get(servedPath('services.list', 'orchestrator'))
  list(): Promise<(ServiceRecord | GroupRecord)[]> {
    return this.services.list();
  }

  @Get(servedPath('vllm.services', 'orchestrator'))
  async vllmServices(): Promise<{ vllm_services: ListedService[] }> {
    return { vllm_services: await this.services.listByKind('vllm') };
  }

  @Get(servedPath('vectorDb.services', 'orchestrator'))
  async vectorDbServices(): Promise<{ vector_db_services: ListedService[] }> {
    return { vector_db_services: await this.services.listByKind('qdrant') };
  }

  @Post(servedPath('services.stop', 'orchestrator'))
  @HttpCode(200)
  async stop(
    @Param('id', ServiceIdPipe) id: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<CancelOutcome> {
    deprecate(res, id);
    return this.services.cancel(id);
  }

  @Get(servedPath('services.get', 'orchestrator'))
  get(@Param('id', ServiceIdPipe) id: string): Promise<ServiceRecord | GroupRecord> {
    return this.services.get(id);
  }

  @Get(servedPath('services.status', 'orchestrator'))
  status(@Param('id', ServiceIdPipe) id: string): Promise<{ id: string; status: string }> {
    return this.services.status(id);
  }

  @Post(servedPath('services.updateStatus', 'orchestrator'))
  @HttpCode(200)
  updateStatus(
    @Param('id', ServiceIdPipe) id: string,
    @Body() _body: UpdateStatusDto,
  ): Promise<CancelOutcome> {
    // UpdateStatusDto admits only "cancelled"; anything else was refused with a 400 already.
    return this.services.cancel(id);
  }

  @Delete(servedPath('services.remove', 'orchestrator'))
  async remove(
    @Param('id', ServiceIdPipe) id: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<CancelOutcome> {
    deprecate(res, id);
    return this.services.cancel(id);
  }

  @Get(servedPath('services.logs', 'orchestrator'))
  async logs(
    @Param('id', ServiceIdPipe) id: string,
    @Res() res: Response,
    @Query('lines') lines?: string,
    @Query('follow', OptionalBoolPipe) follow?: boolean,
  ): Promise<void> {
    if (follow !== true) {
      res.json(await this.services.logs(id, parseLines(lines)));
      return;
    }
    const stop = new AbortController();
    res.on('close', () => {
      stop.abort();
    });
    const stream = this.services.followLogs(id, parseLines(lines), stop.signal);
    // The first chunk before the headers: an unknown id (or too many streams) is then a plain error answer.
    const first = await stream.next();
    res.status(200);
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.flushHeaders();
    try {
      if (first.done !== true) await write(res, first.value, stop.signal);
      for await (const chunk of stream) await write(res, chunk, stop.signal);
    } catch {
      // The client went away mid-write, or a read failed: the stream just ends.
    } finally {
      res.end();
    }
  }
}

function deprecate(res: Response, id: string): void {
  res.setHeader('Deprecation', 'true');
  res.setHeader(
    'Link',
    `<${routePath('services.updateStatus', 'orchestrator', { id })}>; rel="successor-version"`,
  );
}

/** Writes a chunk, waiting while the client reads slower than the job writes. */
async function write(res: Response, chunk: string, signal: AbortSignal): Promise<void> {
  if (!res.write(chunk)) await once(res, 'drain', { signal });
}

function parseLines(lines: string | undefined): number | undefined {
  if (lines === undefined) return undefined;
  const value = Number(lines);
  if (!/^[0-9]+$/.test(lines) || value < 1 || value > MAX_LOG_LINES) {
    throw new BadRequestError(`lines must be a whole number from 1 to ${MAX_LOG_LINES}`);
  }
  return value;
}
