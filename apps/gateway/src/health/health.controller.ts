import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ROUTES, servedPath } from '@aiplane/contracts';
import { ErrorBodyDto } from '@aiplane/http-api';
import { UnavailableError } from '@aiplane/server-kit';
import { OrchestratorClient } from '../transport/orchestrator.client';
import { GatewayHealthDto, ReadyDto, StartingHealthDto } from './health.dto';
import { StackReadiness } from './stack-readiness.service';

const HEALTH = ROUTES['health.health'];
const READY = ROUTES['health.ready'];

/** The gateway's own health, outside /api/v1: answers even when nothing behind it does. */
@ApiTags('health')
@Controller()
export class HealthController {
  constructor(
    private readonly orchestrator: OrchestratorClient,
    private readonly stack: StackReadiness,
  ) {}

  @Get(servedPath('health.health', 'gateway'))
  @ApiOperation({ summary: HEALTH.summary, description: HEALTH.description })
  @ApiOkResponse({ type: GatewayHealthDto })
  @ApiServiceUnavailableResponse({ type: StartingHealthDto, description: 'The stack has not been ready yet' })
  async health(@Res({ passthrough: true }) res: Response): Promise<GatewayHealthDto | StartingHealthDto> {
    if (this.stack.everReadyAt === undefined) {
      const readiness = await this.stack.check();
      if (!readiness.ready) {
        res.status(503);
        return {
          status: 'starting',
          message: readiness.reason ?? 'The stack is not ready yet',
          orchestrator: {
            reachable: readiness.reachable,
            latency_ms: readiness.latency_ms,
            ...this.orchestrator.lastOutcome(),
          },
          transport: this.orchestrator.transport(),
        };
      }
    }
    const probe = await this.orchestrator.probe();
    return {
      status: probe.reachable ? 'healthy' : 'degraded',
      orchestrator: {
        reachable: probe.reachable,
        latency_ms: probe.latency_ms,
        ...this.orchestrator.lastOutcome(),
      },
      transport: this.orchestrator.transport(),
    };
  }

  @Get(servedPath('health.ready', 'gateway'))
  @ApiOperation({ summary: READY.summary, description: READY.description })
  @ApiOkResponse({ type: ReadyDto })
  @ApiServiceUnavailableResponse({
    type: ErrorBodyDto,
    description:
      'The orchestrator does not answer, or Redis or every slurm-worker is down; the message says which',
  })
  async ready(): Promise<ReadyDto> {
    const readiness = await this.stack.check();
    if (!readiness.ready) {
      throw new UnavailableError(
        readiness.reachable
          ? `Not ready: ${readiness.reason ?? 'the orchestrator is not ready'}`
          : `The orchestrator is not answering: ${readiness.reason ?? 'unknown reason'}`,
      );
    }
    return { status: 'ready' };
  }
}
