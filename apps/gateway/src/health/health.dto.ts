import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class OrchestratorHealthDto {
  @ApiProperty({
    description: 'The orchestrator answered its health (or, while starting, readiness) check just now',
    example: true,
  })
  reachable!: boolean;

  @ApiProperty({ type: Number, nullable: true, description: 'Round trip of that check', example: 1.8 })
  latency_ms!: number | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The most recent failure to reach the orchestrator (null if none yet); see last_error_at',
    example: 'The orchestrator is unreachable: SSH tunnel to login.lxp.lu:8822 is down: connect ETIMEDOUT',
  })
  last_error!: string | null;

  @ApiProperty({ type: String, nullable: true, format: 'date-time', example: '2025-11-27T16:01:44.020Z' })
  last_error_at!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    format: 'date-time',
    description: 'When the orchestrator last answered any request',
    example: '2025-11-27T16:12:03.412Z',
  })
  last_success_at!: string | null;
}

export class TransportHealthDto {
  @ApiProperty({ enum: ['ssh', 'http'], example: 'ssh' })
  mode!: 'ssh' | 'http';

  @ApiProperty({
    description: 'SSH server (ssh mode) or orchestrator URL (http mode)',
    example: 'login.lxp.lu:8822',
  })
  target!: string;

  @ApiPropertyOptional({
    enum: ['idle', 'connecting', 'connected', 'backoff', 'closed'],
    example: 'connected',
  })
  phase?: string;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    format: 'date-time',
    example: '2025-11-27T16:10:00.000Z',
  })
  connected_since?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, example: null })
  last_error?: string | null;

  @ApiPropertyOptional({ example: 0 })
  failed_attempts?: number;
}

export class GatewayHealthDto {
  @ApiProperty({ enum: ['healthy', 'degraded'], example: 'healthy' })
  status!: 'healthy' | 'degraded';

  @ApiProperty({ type: OrchestratorHealthDto })
  orchestrator!: OrchestratorHealthDto;

  @ApiProperty({ type: TransportHealthDto })
  transport!: TransportHealthDto;
}

export class ReadyDto {
  @ApiProperty({ enum: ['ready'], example: 'ready' })
  status!: 'ready';
}

export class StartingHealthDto {
  @ApiProperty({ enum: ['starting'], example: 'starting' })
  status!: 'starting';

  @ApiProperty({
    description: 'What the stack still waits for',
    example: 'No slurm-worker is consuming the scheduler queue: a create now could not be submitted',
  })
  message!: string;

  @ApiProperty({ type: OrchestratorHealthDto })
  orchestrator!: OrchestratorHealthDto;

  @ApiProperty({ type: TransportHealthDto })
  transport!: TransportHealthDto;
}
