import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { ErrorBodyDto } from '@aiplane/http-api';
import { UnavailableError } from '@aiplane/server-kit';
import { OrchestratorClient } from '../transport/orchestrator.client';
import { GatewayHealthDto, ReadyDto } from './health.dto';

/** The gateway's own health, outside /api/v1: answers even when nothing behind it does. */
@ApiTags('health')
@Controller()
export class HealthController {
  constructor(private readonly orchestrator: OrchestratorClient) {}

  @Get('health')
  @ApiOperation({
    summary: 'Gateway health',
    description: 'Always 200 while the gateway runs; `degraded` when the orchestrator does not answer.',
  })
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

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: 200 once the orchestrator answers, 503 until then' })
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
