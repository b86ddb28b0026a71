import { Body, Controller, Delete, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import {
  routePath,
  servedPath,
  type GroupRecord,
  type GroupStatusResponse,
  type GroupSummary,
} from '@aiplane/contracts';
import { UpdateStatusDto } from '@aiplane/http-api';
import { ServiceRegistry, toGroupRecord, toGroupStatus, toGroupSummary } from '@aiplane/registry';
import { ServiceIdPipe } from '@aiplane/server-kit';
import { ServicesService, type CancelOutcome } from '../services/services.service';

/** Replica groups: `sg-<job>` ids, or the bare job id of any of their node jobs. */
@Controller()
export class ServiceGroupsController {
  constructor(
    private readonly services: ServicesService,
    private readonly registry: ServiceRegistry,
  ) {}

  @Get(servedPath('serviceGroups.list', 'orchestrator'))
  async list(): Promise<GroupSummary[]> {
    const entries = await this.registry.listEntries();
    return entries.flatMap((entry) => (entry.type === 'group' ? [toGroupSummary(entry)] : []));
  }

  @Get(servedPath('serviceGroups.get', 'orchestrator'))
  async get(@Param('id', ServiceIdPipe) id: string): Promise<GroupRecord> {
    return toGroupRecord(await this.services.group(id));
  }

  @Get(servedPath('serviceGroups.status', 'orchestrator'))
  async status(@Param('id', ServiceIdPipe) id: string): Promise<GroupStatusResponse> {
    return toGroupStatus(await this.services.group(id));
  }

  @Post(servedPath('serviceGroups.updateStatus', 'orchestrator'))
  @HttpCode(200)
  async updateStatus(
    @Param('id', ServiceIdPipe) id: string,
    @Body() _body: UpdateStatusDto,
  ): Promise<CancelOutcome> {
    await this.services.group(id);
    // The caller's own spelling of the id comes back, as in the document's example.
    return { ...(await this.services.cancel(id)), group_id: id };
  }

  @Delete(servedPath('serviceGroups.stop', 'orchestrator'))
  async remove(
    @Param('id', ServiceIdPipe) id: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<CancelOutcome> {
    res.setHeader('Deprecation', 'true');
    res.setHeader(
      'Link',
      `<${routePath('serviceGroups.updateStatus', 'orchestrator', { id })}>; rel="successor-version"`,
    );
    await this.services.group(id);
    // The caller's own spelling of the id comes back, as in the document's example.
    return { ...(await this.services.cancel(id)), group_id: id };
  }
}
