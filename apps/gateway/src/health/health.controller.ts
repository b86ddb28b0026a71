import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { ROUTES, servedPath } from '@aiplane/contracts';
import { ErrorBodyDto } from '@aiplane/http-api';
import { UnavailableError } from '@aiplane/server-kit';
import { OrchestratorClient } from '../transport/orchestrator.client';
import { GatewayHealthDto, ReadyDto } from './health.dto';

const HEALTH = ROUTES['health.health'];
const READY = ROUTES['health.ready'];

/** The gateway's own health, outside /api/v1: answers even when nothing behind it does. */
@ApiTags('health')
@Controller()
export class HealthController {
  constructor(private readonly orchestrator: OrchestratorClient) {}

  @Get(servedPath('health.health', 'gateway'))
  @ApiOperation({ summary: HEALTH.summary, description: HEALTH.description })
  @ApiOkResponse({ type: GatewayHealthDto })
  async health(): Promise<GatewayHealthDto> {
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
  @ApiOperation({ summary: READY.summary })
  @ApiOkResponse({ type: ReadyDto })
  @ApiServiceUnavailableResponse({ type: ErrorBodyDto, description: 'The orchestrator does not answer yet' })
  async ready(): Promise<ReadyDto> {
    const probe = await this.orchestrator.probe();
    if (!probe.reachable) {
      throw new UnavailableError(`The orchestrator is not answering: ${probe.error ?? 'unknown reason'}`);
    }
    return { status: 'ready' };
  }
}
