import { createHash, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import {
  deriveStatus,
  isTerminalStatus,
  type CancelResponse,
  type CreateServiceDto,
  type ServiceConfig,
  type ServiceRecord,
  type ServiceStatusResponse,
} from '@aiplane/contracts';
import { JobFailedError, JobWaitTimeoutError, SchedulerQueueClient } from '@aiplane/jobs';
import { ConfigError, mergeConfig, RecipeCatalogue } from '@aiplane/recipes';
import { ServiceRegistry, toServiceRecord, type StoredService } from '@aiplane/registry';
import {
  BadRequestError,
  NotFoundError,
  UnavailableError,
  UpstreamError,
  currentRequestId,
  newRequestId,
  AppError,
  type Logger,
} from '@aiplane/server-kit';
import { CONFIG, LOGGER } from '../platform/platform.module';
import type { OrchestratorConfig } from '../orchestrator.config';

export const MAX_LOG_LINES = 10_000;
const DEFAULT_LOG_LINES = 200;
// Reading whole multi-gigabyte logs to return their last lines would stall the orchestrator.
const LOG_TAIL_BYTES = 4 * 1024 * 1024;

export interface CancelOutcome extends Omit<CancelResponse, 'status'> {
  status: ServiceRecord['status'];
}

@Injectable()
export class ServicesService {
  constructor(
    private readonly registry: ServiceRegistry,
    private readonly queue: SchedulerQueueClient,
    private readonly recipes: RecipeCatalogue,
    @Inject(CONFIG) private readonly config: OrchestratorConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async start(request: CreateServiceDto, idempotencyKey?: string): Promise<ServiceRecord> {
    const recipe = this.recipes.resolve(request.recipe_name);
    if (!recipe) {
      throw new NotFoundError(
        `Unknown recipe "${request.recipe_name}". Known recipes: ${this.recipes.paths().join(', ')}`,
        { known_recipes: this.recipes.paths() },
      );
    }
    const config = toPlainConfig(request.config);
    let effective;
    try {
      effective = mergeConfig(recipe, config);
    } catch (error) {
      if (error instanceof ConfigError) throw new BadRequestError(error.message);
      throw error;
    }
    if (effective.gpu_per_replica !== undefined) {
      throw new AppError(
        501,
        'Not Implemented',
        `Recipe ${recipe.path} describes a replica group; replica groups are not available in this version yet`,
      );
    }
    const submissionId = idempotencyKey
      ? createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32)
      : randomUUID().replaceAll('-', '');
    const requestId = currentRequestId() ?? newRequestId();
    await this.registry.createSubmission({
      id: submissionId,
      recipe_name: recipe.path,
      config,
      request_id: requestId,
      created_at: new Date().toISOString(),
    });
    const { serviceId } = await this.schedule(() =>
      this.queue.submit({ submissionId, requestId }, this.config.SCHEDULER_WAIT_MS),
    );
    this.logger.info({ service_id: serviceId, recipe: recipe.path }, 'service submitted');
    return toServiceRecord(await this.getStored(serviceId));
  }

  async list(): Promise<ServiceRecord[]> {
    return (await this.registry.list()).map(toServiceRecord);
  }

  async listByKind(kind: StoredService['kind']): Promise<ServiceRecord[]> {
    return (await this.registry.list()).filter((service) => service.kind === kind).map(toServiceRecord);
  }

  async get(id: string): Promise<ServiceRecord> {
    return toServiceRecord(await this.getStored(id));
  }

  async status(id: string): Promise<ServiceStatusResponse> {
    const service = await this.getStored(id);
    return { id: service.id, status: deriveStatus(service.scheduler_state, service.ready) };
  }

  /** Cancelling is idempotent; a scheduler that refuses is reported, never papered over. */
  async cancel(id: string): Promise<CancelOutcome> {
    const before = await this.getStored(id);
    const current = deriveStatus(before.scheduler_state, before.ready);
    if (isTerminalStatus(current)) {
      return {
        success: true,
        message: `Service ${id} is already ${current}`,
        service_id: id,
        status: current,
      };
    }
    await this.schedule(() =>
      this.queue.cancel(
        { serviceId: id, requestId: currentRequestId() ?? newRequestId() },
        this.config.SCHEDULER_WAIT_MS,
      ),
    );
    const after = await this.getStored(id);
    const status = deriveStatus(after.scheduler_state, after.ready);
    return { success: true, message: `Service ${id} status updated to ${status}`, service_id: id, status };
  }

  async logs(id: string, lines = DEFAULT_LOG_LINES): Promise<{ logs: string }> {
    const service = await this.getStored(id);
    // Only the two files the job was told to write, inside its own directory.
    const stdout = await tail(path.join(service.job_dir, 'stdout.log'), lines);
    const stderr = await tail(path.join(service.job_dir, 'stderr.log'), lines);
    return { logs: `=== STDOUT ===\n${stdout}\n=== STDERR ===\n${stderr}` };
  }

  private async getStored(id: string): Promise<StoredService> {
    const service = await this.registry.get(id);
    if (!service) throw new NotFoundError(`Service ${id} not found`);
    return service;
  }

  private async schedule<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof JobWaitTimeoutError) {
        throw new UnavailableError(
          `The scheduler is not reachable right now (${error.message}); nothing was submitted`,
        );
      }
      if (error instanceof JobFailedError)
        throw new UpstreamError(`The scheduler refused the request: ${error.message}`);
      throw error;
    }
  }
}

/** The DTO instance → the plain, redaction-ready config object that is stored and returned. */
function toPlainConfig(dto: CreateServiceDto['config']): ServiceConfig {
  if (!dto) return {};
  return JSON.parse(JSON.stringify(dto)) as ServiceConfig;
}

async function tail(file: string, lines: number): Promise<string> {
  let handle;
  try {
    handle = await fs.open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, LOG_TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const text = buffer.toString('utf8').replace(/\n$/, '');
    return text.split('\n').slice(-lines).join('\n');
  } finally {
    await handle.close();
  }
}
