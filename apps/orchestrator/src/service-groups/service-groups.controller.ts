import { Body, Controller, Delete, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import { type GroupRecord, type GroupStatusResponse, type GroupSummary } from '@aiplane/contracts';
import { UpdateStatusDto } from '@aiplane/http-api';
import { ServiceRegistry, toGroupRecord, toGroupStatus, toGroupSummary } from '@aiplane/registry';
import { ServiceIdPipe } from '@aiplane/server-kit';
import { ServicesService, type CancelOutcome } from '../services/services.service';

/** Replica groups: `sg-<job>` ids, or the bare job id of any of their node jobs. */
@Controller('service-groups')
export class ServiceGroupsController {
  constructor(
    private readonly services: ServicesService,
    private readonly registry: ServiceRegistry,
  ) {}

  @Get()
  async list(): Promise<GroupSummary[]> {
    const entries = await this.registry.listEntries();
    return entries.flatMap((entry) => (entry.type === 'group' ? [toGroupSummary(entry)] : []));
  }

  @Get(':id')
  async get(@Param('id', ServiceIdPipe) id: string): Promise<GroupRecord> {
    return toGroupRecord(await this.services.group(id));
  }

  @Get(':id/status')
  async status(@Param('id', ServiceIdPipe) id: string): Promise<GroupStatusResponse> {
    return toGroupStatus(await this.services.group(id));
  }

  @Post(':id/status')
  @HttpCode(200)
  async updateStatus(
    @Param('id', ServiceIdPipe) id: string,
    @Body() _body: UpdateStatusDto,
  ): Promise<CancelOutcome> {
    await this.services.group(id);
    // The caller's own spelling of the id comes back, as in the document's example.
    return { ...(await this.services.cancel(id)), group_id: id };
  }

  @Delete(':id')
  async remove(
    @Param('id', ServiceIdPipe) id: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<CancelOutcome> {
    res.setHeader('Deprecation', 'true');
    res.setHeader('Link', `</api/service-groups/${id}/status>; rel="successor-version"`);
    await this.services.group(id);
    // The caller's own spelling of the id comes back, as in the document's example.
    return { ...(await this.services.cancel(id)), group_id: id };
  }
}
