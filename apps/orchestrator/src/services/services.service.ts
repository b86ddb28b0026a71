import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  isGroupId,
  isTerminalGroupStatus,
  isTerminalStatus,
  MAX_LOG_LINES,
  type CancelResponse,
  type GroupCancelResponse,
  type GroupOverallStatus,
  type GroupRecord,
  type ServiceConfig,
  type ServiceRecord,
  type ServiceStatus,
  type ServiceStatusResponse,
  type ServiceSummary,
} from '@aiplane/contracts';
import type { CreateServiceDto } from '@aiplane/http-api';
import { JobWaitTimeoutError, SchedulerQueueClient } from '@aiplane/jobs';
import {
  ConfigError,
  mergeConfig,
  RecipeCatalogue,
  type EffectiveConfig,
  type Recipe,
} from '@aiplane/recipes';
import {
  ServiceRegistry,
  type AdmissionOutcome,
  type QuotaName,
  toGroupRecord,
  toServiceRecord,
  type GroupView,
  type RegistryEntry,
  type StoredService,
} from '@aiplane/registry';
import {
  BadRequestError,
  NotFoundError,
  TooManyRequestsError,
  UnprocessableEntityError,
  currentRequestId,
  isStoreUnavailable,
  newRequestId,
  openPrivateFile,
  UnsafePathError,
  type Logger,
} from '@aiplane/server-kit';
import { FitService } from '../fit/fit.service';
import { CONFIG, LOGGER } from '../platform/platform.module';
import type { OrchestratorConfig } from '../orchestrator.config';
import {
  entryEnded,
  followFiles,
  jobIdsOf,
  logFilesOf,
  MAX_LOG_FOLLOWERS,
  sizeOf,
  type LogFile,
} from './logs.follow';
import { clientErrorFor } from './scheduler.errors';

// The gateway validates `lines` against the same bound.
export { MAX_LOG_LINES };
const DEFAULT_LOG_LINES = 200;
// Reading whole multi-gigabyte logs to return their last lines would stall the orchestrator.
const LOG_TAIL_BYTES = 4 * 1024 * 1024;

export type CancelOutcome = CancelResponse | GroupCancelResponse;

export type ListedService = ServiceSummary;

@Injectable()
export class ServicesService {
  private followers = 0;

  constructor(
    private readonly registry: ServiceRegistry,
    private readonly queue: SchedulerQueueClient,
    private readonly recipes: RecipeCatalogue,
    private readonly fit: FitService,
    @Inject(CONFIG) private readonly config: OrchestratorConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async start(request: CreateServiceDto, idempotencyKey?: string): Promise<ServiceRecord | GroupRecord> {
    const recipe = this.recipes.resolve(request.recipe_name);
    if (!recipe) {
      throw new NotFoundError(
        `Unknown recipe "${request.recipe_name}". Known recipes: ${this.recipes.paths().join(', ')}`,
        { known_recipes: this.recipes.paths() },
      );
    }
    const config = toPlainConfig(request.config);
    const effective = validatedConfig(recipe, config);
    // Before anything is stored: a model that cannot fit its GPUs is refused here, not after the queue.
    const warnings = await this.fit.check(recipe, config, effective);
    const submissionId = idempotencyKey
      ? createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32)
      : randomUUID().replaceAll('-', '');
    const requestId = currentRequestId() ?? newRequestId();
    const { nodes, gpu } = effective.resources;
    const bodySha256 = createHash('sha256')
      .update(canonicalJson({ recipe_name: recipe.path, config }))
      .digest('hex');
    const now = Date.now();
    const outcome = await this.registry.admitSubmission({
      submissionId,
      document: JSON.stringify({
        id: submissionId,
        recipe_name: recipe.path,
        config,
        request_id: requestId,
        created_at: new Date(now).toISOString(),
        body_sha256: bodySha256,
        warnings,
      }),
      bodySha256,
      gpus: gpu * nodes,
      nodes,
      limits: {
        maxServices: this.config.QUOTA_MAX_SERVICES,
        maxGpus: this.config.QUOTA_MAX_GPUS,
        maxNodes: this.config.QUOTA_MAX_NODES,
        createsPerMinute: this.config.QUOTA_CREATES_PER_MINUTE,
      },
      // Long enough for the worker to submit it (and retry once) before its jobs must carry it.
      holdMs: 2 * this.config.SCHEDULER_WAIT_MS + 60_000,
      now,
    });
    if (outcome.kind === 'conflict') {
      throw new UnprocessableEntityError(
        'This Idempotency-Key was already used for a create with a different body; use a new key for a different request, or resend the original body to get its service',
      );
    }
    if (outcome.kind === 'over') throw overQuota(outcome, { gpus: gpu * nodes, nodes });
    const { serviceId } = await this.schedule(
      async () => {
        try {
          return await this.queue.submit({ submissionId, requestId }, this.config.SCHEDULER_WAIT_MS);
        } catch (error) {
          // The store refused the enqueue, or no worker took the job and it was withdrawn: no job
          // will ever read this submission, so take it back (and its quota) rather than leave it
          // half done. Best effort: the store may refuse that too. It still counts as a create.
          if (
            outcome.kind === 'created' &&
            (isStoreUnavailable(error) || error instanceof JobWaitTimeoutError)
          ) {
            await this.registry.withdrawSubmission(submissionId).catch(() => undefined);
          }
          throw error;
        }
      },
      // An sbatch whose answer was lost may have gone through; the same key adopts that job.
      'the job may still have been submitted: retry with the same Idempotency-Key to get it rather than a second one',
    );
    this.logger.info({ service_id: serviceId, recipe: recipe.path }, 'service submitted');
    return this.get(serviceId);
  }

  async list(): Promise<(ServiceRecord | GroupRecord)[]> {
    return (await this.registry.listEntries()).map((entry) =>
      entry.type === 'group' ? toGroupRecord(entry) : toServiceRecord(entry.service),
    );
  }

  async listByKind(kind: StoredService['kind']): Promise<ListedService[]> {
    return (await this.registry.listEntries())
      .filter((entry) => (entry.type === 'group' ? entry.group.kind : entry.service.kind) === kind)
      .map((entry) => {
        if (entry.type === 'service') {
          const { id, name, recipe_name, endpoint, status } = toServiceRecord(entry.service);
          return { id, name, recipe_name, endpoint, status };
        }
        const { id, name, recipe_name, status } = toGroupRecord(entry);
        return { id, name, recipe_name, endpoint: null, status };
      });
  }

  async get(id: string): Promise<ServiceRecord | GroupRecord> {
    const entry = await this.resolve(id);
    return entry.type === 'group' ? toGroupRecord(entry) : toServiceRecord(entry.service);
  }

  async status(id: string): Promise<ServiceStatusResponse> {
    const record = await this.get(id);
    return { id: record.id, status: record.status, ...(record.queue ? { queue: record.queue } : {}) };
  }

  /** Groups by their `sg-` id, or by the bare job id of any of their node jobs (as the document does). */
  async group(id: string): Promise<GroupView> {
    const entry = await this.resolve(id);
    if (entry.type !== 'group')
      throw new NotFoundError(`Service group ${id} not found (${id} is a single service)`);
    return entry;
  }

  /** Cancelling is idempotent; a scheduler that refuses is reported, never papered over. */
  async cancel(id: string): Promise<CancelOutcome> {
    const before = await this.get(id);
    const label = before.type === 'replica_group' ? 'Service group' : 'Service';
    if (
      isTerminalStatus(before.status as ServiceStatus) ||
      isTerminalGroupStatus(before.status as GroupOverallStatus)
    ) {
      return { success: true, message: `${label} ${id} is already ${before.status}`, ...outcomeIds(before) };
    }
    await this.schedule(() =>
      this.queue.cancel(
        { serviceId: before.id, requestId: currentRequestId() ?? newRequestId() },
        this.config.SCHEDULER_WAIT_MS,
      ),
    );
    const after = await this.get(id);
    return {
      success: true,
      message: `${label} ${id} status updated to ${after.status}`,
      ...outcomeIds(after),
    };
  }

  async logs(id: string, lines = DEFAULT_LOG_LINES): Promise<{ logs: string }> {
    return this.logsOf(logFilesOf(await this.resolve(id)), lines);
  }

  private async logsOf(files: LogFile[], lines = DEFAULT_LOG_LINES): Promise<{ logs: string }> {
    // An equal share each, so a 16-node group of 8 replicas stays one bounded string and one chatty
    // replica cannot crowd out the others.
    const headings = files.reduce((sum, { heading }) => sum + Buffer.byteLength(heading) + 2, 0);
    const share = Math.max(0, Math.floor((this.config.LOGS_MAX_RESPONSE_BYTES - headings) / files.length));
    const sections: string[] = [];
    for (const { heading, file } of files) sections.push(`${heading}\n${await tail(file, lines, share)}`);
    return { logs: sections.join('\n') };
  }

  /**
   * `logs?follow=true`: the last lines, then what the job writes next, until its job ends (or moves
   * on: a rollover, an idle stop) or `signal` aborts. Unknown ids throw before the first chunk.
   */
  async *followLogs(id: string, lines: number | undefined, signal: AbortSignal): AsyncGenerator<string> {
    const entry = await this.resolve(id);
    const files = logFilesOf(entry);
    const followed = jobIdsOf(entry);
    if (this.followers >= MAX_LOG_FOLLOWERS) {
      throw new TooManyRequestsError(
        `${MAX_LOG_FOLLOWERS} log streams are open already; close one, or read the logs without follow=true`,
        5,
      );
    }
    this.followers += 1;
    try {
      // Sizes before the tail is read: a line written in between comes twice rather than never.
      const offsets = await Promise.all(files.map(({ file }) => sizeOf(file)));
      // The tail of the same files the offsets were taken of, not of a record read again.
      yield `${(await this.logsOf(files, lines)).logs}\n`;
      yield* followFiles(files, offsets, signal, async () => {
        const now = await this.resolve(id).catch(() => undefined);
        return now === undefined || jobIdsOf(now) !== followed || entryEnded(now);
      });
    } finally {
      this.followers -= 1;
    }
  }

  private async resolve(id: string): Promise<RegistryEntry> {
    const groupId = isGroupId(id) ? id : (await this.registry.get(id))?.group_id;
    if (groupId) {
      const view = await this.registry.getGroupView(groupId);
      if (view) return { type: 'group', ...view };
      throw new NotFoundError(`Service group ${id} not found`);
    }
    const service = await this.registry.get(id);
    if (!service) throw new NotFoundError(`Service ${id} not found`);
    return { type: 'service', service };
  }

  private async schedule<T>(run: () => Promise<T>, ifUnanswered = 'try again shortly'): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw clientErrorFor(error, ifUnanswered);
    }
  }
}

/** Validated here so a bad config is a 400 now rather than a failed job later. */
function validatedConfig(recipe: Recipe, config: ServiceConfig): EffectiveConfig {
  try {
    return mergeConfig(recipe, config);
  } catch (error) {
    if (error instanceof ConfigError) throw new BadRequestError(error.message);
    throw error;
  }
}

const QUOTA_WORDING: Readonly<Record<QuotaName, { env: string; what: string }>> = {
  services: { env: 'QUOTA_MAX_SERVICES', what: 'services and groups running or queued' },
  gpus: { env: 'QUOTA_MAX_GPUS', what: 'GPUs held by running or queued services' },
  nodes: { env: 'QUOTA_MAX_NODES', what: 'node jobs of running or queued services' },
  creates_per_minute: { env: 'QUOTA_CREATES_PER_MINUTE', what: 'creates in the last minute' },
};

/** A 429 that names the quota, what is in use, what this request asks for, and when to retry. */
function overQuota(
  outcome: Extract<AdmissionOutcome, { kind: 'over' }>,
  asked: { gpus: number; nodes: number },
): TooManyRequestsError {
  const { env, what } = QUOTA_WORDING[outcome.quota];
  const wants =
    outcome.quota === 'gpus'
      ? ` and this request asks for ${String(asked.gpus)} more`
      : outcome.quota === 'nodes'
        ? ` and this request asks for ${String(asked.nodes)} more`
        : '';
  const remedy =
    outcome.quota === 'creates_per_minute'
      ? `retry in ${String(outcome.retryAfterS)} s`
      : 'cancel a service or ask the operator to raise it';
  return new TooManyRequestsError(
    `Quota ${env} = ${String(outcome.limit)} reached: ${String(outcome.used)} ${what}${wants}; nothing was submitted (${remedy})`,
    outcome.retryAfterS,
    { quota: outcome.quota, limit: outcome.limit, in_use: outcome.used },
  );
}

/** JSON with object keys sorted at every level: the same body, however its keys were ordered. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, inner]) => inner !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonicalJson(inner)}`).join(',')}}`;
  }
  // A parsed JSON body holds no functions or undefined values, the cases JSON.stringify skips.
  return JSON.stringify(value);
}

function outcomeIds(
  record: ServiceRecord | GroupRecord,
): Omit<CancelResponse, 'success' | 'message'> | Omit<GroupCancelResponse, 'success' | 'message'> {
  if (record.type === 'replica_group') {
    return {
      group_id: record.group_id,
      status: record.status,
      replicas_updated: record.node_jobs.reduce((sum, job) => sum + job.replicas.length, 0),
    };
  }
  return { service_id: record.id, status: record.status };
}

/** The DTO instance → the plain, redaction-ready config object that is stored and returned. */
function toPlainConfig(dto: CreateServiceDto['config']): ServiceConfig {
  if (!dto) return {};
  return JSON.parse(JSON.stringify(dto)) as ServiceConfig;
}

// Room kept in each log's share for the line that says it was cut.
const CUT_MARKER_BYTES = 120;

/**
 * The last `lines` lines of a job's log, in at most `maxBytes`. The file is opened without
 * following a symlink or blocking on a FIFO (another user, or the job, may have planted either):
 * such a file is named as refused in place of its content.
 */
async function tail(file: string, lines: number, maxBytes: number): Promise<string> {
  let handle;
  try {
    handle = await openPrivateFile(file);
  } catch (error) {
    if (error instanceof UnsafePathError) return `[not read: ${error.message}]`;
    throw error;
  }
  if (!handle) return '';
  try {
    const { size } = await handle.stat();
    const budget = Math.min(LOG_TAIL_BYTES, Math.max(0, maxBytes - CUT_MARKER_BYTES));
    const length = Math.min(size, budget);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, size - length);
    let text = buffer.subarray(0, bytesRead).toString('utf8').replace(/\n$/, '');
    const cut = length < size;
    // A read from the middle of the file starts inside a line (maybe inside a character): drop it.
    if (cut) text = text.slice(text.indexOf('\n') + 1);
    const kept = text === '' ? [] : text.split('\n').slice(-lines);
    if (cut && kept.length < lines)
      kept.unshift(`[... earlier output cut: this answer holds at most ${length} bytes of this log ...]`);
    return kept.join('\n');
  } finally {
    await handle.close();
  }
}
