import type { Redis } from 'ioredis';
import {
  deriveStatus,
  idleTimeoutMs,
  isTerminalJobState,
  JOB_STATES,
  parseJsonRecord,
  parseRecord,
  serviceConfigSchema,
  type GenerationRecord,
  type QueueInfo,
  type RolloverInfo,
  type RolloverState,
  type ServiceRecord,
  type ServiceStatus,
} from '@aiplane/contracts';
import {
  apiKeysSchema,
  generationsSchema,
  rolloverStateSchema,
  replicaGpusSchema,
  serviceHashSchema,
  storedGroupSchema,
  submissionSchema,
  warningsSchema,
} from './registry.schema';
import {
  ADMIT_SUBMISSION_LUA,
  parseAdmission,
  type AdmissionOutcome,
  type AdmissionRequest,
} from './submission.admission';
import type {
  SchedulerObservation,
  StoredGroup,
  StoredReplica,
  StoredService,
  Submission,
} from './registry.types';

const SUBMISSION_TTL_S = 7 * 24 * 3600;

const TERMINAL_JOB_STATES = JOB_STATES.filter((state) => isTerminalJobState(state));
const TERMINAL_LUA_TABLE = `{${TERMINAL_JOB_STATES.map((state) => `['${state}']=true`).join(',')}}`;

// Terminal states are final: the check and the write must be one step, or a late poll could
// resurrect a cancelled service. Returns 1 when applied, 0 when the record was already final,
// -1 when it does not exist. KEYS[3] is the change channel: told only when something other than
// updated_at changed, so that the worker's polls of unchanged jobs do not wake every subscriber.
// ARGV[1] is the job the observation is of ('' = whichever), ARGV[2] that job's start for its
// generations entry ('' = none), the field pairs follow: a poll that read
// the record before a rollover or a wake moved it on to a newer job must not write the old job's state
// over it, and a service stopped for idleness ignores news of its old job.
const APPLY_STATE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'job_id') ~= ARGV[1] then return 0 end
local current = redis.call('HGET', KEYS[1], 'scheduler_state')
local terminal = ${TERMINAL_LUA_TABLE}
if current and terminal[current] then return 0 end
if redis.call('HEXISTS', KEYS[1], 'idle_since') == 1 then return 0 end
local changed = false
for i = 3, #ARGV, 2 do
  if ARGV[i] ~= 'updated_at' and redis.call('HGET', KEYS[1], ARGV[i]) ~= ARGV[i + 1] then changed = true end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
-- A job that took over the record before it started (a wake, a vector database's restart) has a
-- generations entry without a start: ARGV[2], its first observed start, fills it in.
local history = redis.call('HGET', KEYS[1], 'generations') or ''
if ARGV[2] ~= '' and string.find(history, '"started_at":null', 1, true) then
  local job = redis.call('HGET', KEYS[1], 'job_id')
  local entries = cjson.decode(history)
  local patched = false
  for _, entry in ipairs(entries) do
    if entry.job_id == job and entry.started_at == cjson.null then
      entry.started_at = ARGV[2]
      patched = true
    end
  end
  if patched then
    redis.call('HSET', KEYS[1], 'generations', cjson.encode(entries))
    changed = true
  end
end
if changed then redis.call('PUBLISH', KEYS[3], redis.call('HGET', KEYS[1], 'id')) end
local next = redis.call('HGET', KEYS[1], 'scheduler_state')
if terminal[next] then redis.call('SREM', KEYS[2], redis.call('HGET', KEYS[1], 'id')) end
return 1
`;

// Same reason: a probe answering while the service is being cancelled must not write after the
// terminal state landed. ARGV: ready ('1' | '0'), probe time, the endpoint probed ('' = any).
// Returns 1 when written, 2 when this is the first time it is ready (ready_at set now), 0 when
// not written: final, or a rollover moved the record to another endpoint since the probe began.
// A change (not every probe) is published on KEYS[2].
const SET_READINESS_LUA = `
local state = redis.call('HGET', KEYS[1], 'scheduler_state')
local terminal = ${TERMINAL_LUA_TABLE}
if not state or terminal[state] then return 0 end
if redis.call('HEXISTS', KEYS[1], 'idle_since') == 1 then return 0 end
if ARGV[3] ~= '' and redis.call('HGET', KEYS[1], 'endpoint') ~= ARGV[3] then return 0 end
local first = 1
if ARGV[1] == '1' and (redis.call('HGET', KEYS[1], 'ready_at') or '') == '' then
  redis.call('HSET', KEYS[1], 'ready_at', ARGV[2])
  first = 2
end
if redis.call('HGET', KEYS[1], 'ready') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'ready', ARGV[1], 'last_probe_at', ARGV[2])
else
  redis.call('HSET', KEYS[1], 'ready', ARGV[1], 'last_probe_at', ARGV[2], 'updated_at', ARGV[2])
  redis.call('PUBLISH', KEYS[2], redis.call('HGET', KEYS[1], 'id'))
end
return first
`;

// The same rule per replica; ARGV: the replica's field prefix, ready, probe time.
const SET_REPLICA_READINESS_LUA = `
local state = redis.call('HGET', KEYS[1], 'scheduler_state')
local terminal = ${TERMINAL_LUA_TABLE}
if not state or terminal[state] then return 0 end
if redis.call('HEXISTS', KEYS[1], 'idle_since') == 1 then return 0 end
local field = ARGV[1] .. 'ready'
if redis.call('HGET', KEYS[1], field) == ARGV[2] then
  redis.call('HSET', KEYS[1], field, ARGV[2], 'last_probe_at', ARGV[3])
else
  redis.call('HSET', KEYS[1], field, ARGV[2], 'last_probe_at', ARGV[3], 'updated_at', ARGV[3])
  redis.call('PUBLISH', KEYS[2], redis.call('HGET', KEYS[1], 'id'))
end
local first = 1
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], ARGV[1] .. 'seen_ready', '1')
  if (redis.call('HGET', KEYS[1], 'ready_at') or '') == '' then
    redis.call('HSET', KEYS[1], 'ready_at', ARGV[3])
    first = 2
  end
end
return first
`;

// A rollover successor takes over its service's record: the service keeps its id, timeline and
// history, and from now on shows (and is polled and probed as) the successor's job. The
// successor's own record stays only to resolve its job id to the service. KEYS: service,
// successor, active set, change channel. ARGV: now, generations JSON, rollover state, message,
// '1' to take over a successor that is not ready yet (a vector database's restart).
// Returns 1 when done, 0 when the service is already final, -1 when the successor cannot take over.
const PROMOTE_LUA = `
local terminal = ${TERMINAL_LUA_TABLE}
local state = redis.call('HGET', KEYS[1], 'scheduler_state')
if not state or terminal[state] then return 0 end
local next = redis.call('HGET', KEYS[2], 'scheduler_state')
if not next or terminal[next] then return -1 end
if ARGV[5] ~= '1' and redis.call('HGET', KEYS[2], 'ready') ~= '1' then return -1 end
local copied = {'job_id', 'job_dir', 'scheduler_state', 'endpoint', 'node', 'ready', 'status_reason',
  'exit_code', 'last_probe_at', 'api_key', 'generation', 'queue_position', 'queue_reason', 'queue_estimated_start'}
for _, field in ipairs(copied) do
  redis.call('HSET', KEYS[1], field, redis.call('HGET', KEYS[2], field) or '')
end
redis.call('HSET', KEYS[1], 'successor_id', '', 'generations', ARGV[2], 'rollover_state', ARGV[3],
  'rollover_message', ARGV[4], 'updated_at', ARGV[1])
local id = redis.call('HGET', KEYS[1], 'id')
redis.call('HSET', KEYS[2], 'promoted_into', id)
redis.call('SREM', KEYS[3], redis.call('HGET', KEYS[2], 'id'))
redis.call('PUBLISH', KEYS[4], id)
return 1
`;

// Keeps the longest start-up per recipe. KEYS[1]: the hash; ARGV: recipe, seconds.
const RECORD_STARTUP_LUA = `
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > current then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1
`;

// Adds the keys to the submission unless it has some already, and returns the ones that count, so
// that two attempts racing on one submission start their jobs with the same keys. The document is
// extended as text rather than re-encoded, which could alter the user's config (cjson's numbers).
// Returns false when the submission does not exist.
const CLAIM_API_KEYS_LUA = `
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local existing = cjson.decode(raw).api_keys
if type(existing) == 'table' then return cjson.encode(existing) end
redis.call('SET', KEYS[1], string.sub(raw, 1, -2) .. ',"api_keys":' .. ARGV[1] .. '}', 'KEEPTTL')
return ARGV[1]
`;

// Marks a service idle, unless it was used after the worker decided to stop it: the use check and
// the mark are one step, so a request landing in between keeps the service. Out of the active set,
// so nothing polls or probes the job being cancelled, and into the idle set, so readers that route
// by model still see it. KEYS: service, active set, change channel, last-use hash, idle set. ARGV: the job found idle, now (ms), the timeout (ms), now (ISO), the service id,
// the reason. Returns 1 when marked, 2 when used since, 0 when not a running record of that job.
const MARK_IDLE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local state = redis.call('HGET', KEYS[1], 'scheduler_state')
local terminal = ${TERMINAL_LUA_TABLE}
if not state or terminal[state] then return 0 end
if redis.call('HEXISTS', KEYS[1], 'idle_since') == 1 then return 0 end
if redis.call('HGET', KEYS[1], 'job_id') ~= ARGV[1] then return 0 end
local last = tonumber(redis.call('HGET', KEYS[4], ARGV[5]))
if last and tonumber(ARGV[2]) - last < tonumber(ARGV[3]) then return 2 end
redis.call('HSET', KEYS[1], 'idle_since', ARGV[4], 'ready', '0', 'endpoint', '', 'updated_at', ARGV[4],
  'status_reason', ARGV[6])
redis.call('SREM', KEYS[2], ARGV[5])
redis.call('SADD', KEYS[5], ARGV[5])
redis.call('PUBLISH', KEYS[3], ARGV[5])
return 1
`;

// Puts the new job of an idle service in place of the stopped one, once, whichever wake attempt
// gets here first. KEYS: service, active set, change channel, last-use hash, wake requests, idle set,
// the new job's own key (left naming the service).
// ARGV: the stopped job, now (ISO), now (ms), the service id, then the field pairs to set.
// Returns 1 when applied, 0 when the record is no longer idle with that job.
const RECORD_WAKE_LUA = `
if redis.call('HEXISTS', KEYS[1], 'idle_since') == 0 then return 0 end
if redis.call('HGET', KEYS[1], 'job_id') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'idle_since', 'queue_position', 'queue_reason', 'queue_estimated_start')
redis.call('HSET', KEYS[1], 'updated_at', ARGV[2], unpack(ARGV, 5))
redis.call('HSET', KEYS[4], ARGV[4], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
redis.call('SREM', KEYS[5], ARGV[4])
redis.call('SREM', KEYS[6], ARGV[4])
redis.call('PUBLISH', KEYS[3], ARGV[4])
-- The new job's id names the service too, as a successor's does (see PROMOTE_LUA).
redis.call('HSET', KEYS[7], 'id', redis.call('HGET', KEYS[1], 'job_id'), 'promoted_into', ARGV[4])
return 1
`;

// A user's cancel of an idle service: its job is already gone, so the record goes straight to
// cancelled. KEYS: service, wake requests, change channel, idle set. ARGV: now (ISO), the service id.
const CANCEL_IDLE_LUA = `
if redis.call('HEXISTS', KEYS[1], 'idle_since') == 0 then return 0 end
redis.call('HDEL', KEYS[1], 'idle_since')
redis.call('HSET', KEYS[1], 'scheduler_state', 'CANCELLED', 'status_reason', 'cancelled by user',
  'ready', '0', 'updated_at', ARGV[1])
redis.call('SREM', KEYS[2], ARGV[2])
redis.call('SREM', KEYS[4], ARGV[2])
redis.call('PUBLISH', KEYS[3], ARGV[2])
return 1
`;

/**
 * Service records in Redis. One hash per service so that the worker (scheduler state), the prober
 * (readiness) and the orchestrator write disjoint fields without read-modify-write races; the
 * user-facing status is derived on read from those fields.
 */
export class ServiceRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'aiplane',
  ) {}

  private serviceKey(id: string): string {
    return `${this.prefix}:service:${id}`;
  }
  private submissionKey(id: string): string {
    return `${this.prefix}:submission:${id}`;
  }
  private groupKey(id: string): string {
    return `${this.prefix}:group:${id}`;
  }
  private get indexKey(): string {
    return `${this.prefix}:services`;
  }
  private get activeKey(): string {
    return `${this.prefix}:services:active`;
  }
  private get quotaLedgerKey(): string {
    return `${this.prefix}:quota:held`;
  }
  private get recentCreatesKey(): string {
    return `${this.prefix}:quota:recent-creates`;
  }
  private get changesChannel(): string {
    return registryChangesChannel(this.prefix);
  }
  private get startupKey(): string {
    return `${this.prefix}:startup-seconds`;
  }
  private get lastUseKey(): string {
    return `${this.prefix}:idle:last-use`;
  }
  private get wakeRequestsKey(): string {
    return `${this.prefix}:idle:wake`;
  }
  private get idleKey(): string {
    return `${this.prefix}:services:idle`;
  }

  async createSubmission(submission: Submission): Promise<void> {
    const key = this.submissionKey(submission.id);
    await this.redis.set(key, JSON.stringify(submission), 'EX', SUBMISSION_TTL_S, 'NX');
  }

  /**
   * Writes the submission if the same Idempotency-Key has not named one yet and the deployment's
   * quotas allow it, all in one script (submission.admission.ts). Throws the store's own error
   * (OOM, READONLY, MISCONF, connection lost) when it refused, with nothing written.
   */
  async admitSubmission(request: AdmissionRequest): Promise<AdmissionOutcome> {
    const reply = await this.redis.eval(
      ADMIT_SUBMISSION_LUA,
      4,
      this.submissionKey(request.submissionId),
      this.quotaLedgerKey,
      this.recentCreatesKey,
      this.activeKey,
      String(request.now),
      request.submissionId,
      request.document,
      String(SUBMISSION_TTL_S),
      request.bodySha256,
      String(request.gpus),
      String(request.nodes),
      String(request.limits.maxServices),
      String(request.limits.maxGpus),
      String(request.limits.maxNodes),
      String(request.limits.createsPerMinute),
      String(request.now + request.holdMs),
      `${this.prefix}:service:`,
    );
    return parseAdmission(reply);
  }

  /**
   * Takes back an admitted submission no job will ever read: its record and its quota hold. It
   * stays among the recent creates, which bound attempts, not services.
   */
  async withdrawSubmission(id: string): Promise<void> {
    await this.redis.multi().del(this.submissionKey(id)).hdel(this.quotaLedgerKey, id).exec();
  }

  async getSubmission(id: string): Promise<Submission | undefined> {
    const key = this.submissionKey(id);
    const raw = await this.redis.get(key);
    return raw === null ? undefined : parseJsonRecord(key, submissionSchema, raw);
  }

  /**
   * The API keys of a submission's node jobs: `candidates` if it had none yet, else the ones an
   * earlier attempt stored (and may have started jobs with). Undefined when the submission is gone.
   */
  async claimApiKeys(submissionId: string, candidates: readonly string[]): Promise<string[] | undefined> {
    const key = this.submissionKey(submissionId);
    const stored = (await this.redis.eval(CLAIM_API_KEYS_LUA, 1, key, JSON.stringify(candidates))) as
      string | null;
    return stored === null ? undefined : parseJsonRecord(`${key} api_keys`, apiKeysSchema, stored);
  }

  /**
   * Records the job id and drops the keys, and the config unless a successor needs it: secrets live only
   * as long as they are needed. A service that rolls over needs its config for every successor
   * (`keepConfig`); one with an idle timeout needs it as long as it lives, since the next request after
   * an idle stop submits it again, so it is kept without expiry.
   */
  async markSubmitted(submission: Submission, jobId: string, keepConfig = false): Promise<void> {
    const { api_keys: _keys, ...rest } = submission;
    const key = this.submissionKey(submission.id);
    if (idleTimeoutMs(submission.config) !== undefined) {
      await this.redis.set(key, JSON.stringify({ ...rest, job_id: jobId } satisfies Submission));
      return;
    }
    const kept: Submission = { ...rest, config: keepConfig ? submission.config : {}, job_id: jobId };
    await this.redis.set(key, JSON.stringify(kept), 'EX', SUBMISSION_TTL_S);
  }

  /** Keeps a submission another SUBMISSION_TTL: a service that rolls over reads it at each rollover. */
  async keepSubmission(id: string): Promise<void> {
    await this.redis.expire(this.submissionKey(id), SUBMISSION_TTL_S);
  }

  /** Drops the keys a rollover claimed for its successor's jobs, once they are recorded with them. */
  async clearApiKeys(id: string): Promise<void> {
    const submission = await this.getSubmission(id);
    if (!submission?.api_keys) return;
    const { api_keys: _keys, ...rest } = submission;
    await this.redis.set(this.submissionKey(id), JSON.stringify(rest), 'KEEPTTL');
  }

  /** Forgets the config a submission kept for rollovers, once its service can no longer roll over. */
  async dropSubmissionConfig(id: string): Promise<void> {
    const submission = await this.getSubmission(id);
    if (!submission || Object.keys(submission.config).length === 0) return;
    await this.redis.set(this.submissionKey(id), JSON.stringify({ ...submission, config: {} }), 'KEEPTTL');
  }

  async createService(service: StoredService): Promise<void> {
    const multi = this.redis.multi().hset(this.serviceKey(service.id), serialise(service));
    // A group's node jobs are listed through the group, a successor through its service; both are
    // still polled and probed.
    if (service.group_id === null && !service.rollover_of)
      multi.zadd(this.indexKey, Date.parse(service.created_at), service.id);
    if (!isTerminalJobState(service.scheduler_state)) multi.sadd(this.activeKey, service.id);
    await multi.publish(this.changesChannel, service.id).exec();
  }

  async createGroup(group: StoredGroup): Promise<void> {
    await this.redis
      .multi()
      .set(this.groupKey(group.id), JSON.stringify(group))
      .zadd(this.indexKey, Date.parse(group.created_at), group.id)
      .publish(this.changesChannel, group.id)
      .exec();
  }

  /**
   * Moves a record whose id the scheduler has handed to a new job (SLURM numbering restarts after
   * `slurmctld -c`; a fresh local state dir starts again at its first id) out of the lists, kept
   * under `<prefix>:superseded:…` rather than overwritten. Returns the key it now lives under.
   */
  async supersede(id: string): Promise<string | undefined> {
    const isGroup = id.startsWith('sg-');
    const key = isGroup ? this.groupKey(id) : this.serviceKey(id);
    const archived = `${this.prefix}:superseded:${isGroup ? 'group' : 'service'}:${id}:${Date.now()}`;
    const [renamed] =
      (await this.redis
        .multi()
        .renamenx(key, archived)
        .zrem(this.indexKey, id)
        .srem(this.activeKey, id)
        .publish(this.changesChannel, id)
        .exec()) ?? [];
    return renamed?.[1] === 1 ? archived : undefined;
  }

  async getGroup(id: string): Promise<StoredGroup | undefined> {
    const key = this.groupKey(id);
    const raw = await this.redis.get(key);
    return raw === null ? undefined : parseJsonRecord(key, storedGroupSchema, raw);
  }

  /** Everything the public lists show, oldest first: single services and groups with their node jobs. */
  async listEntries(): Promise<RegistryEntry[]> {
    const ids = await this.redis.zrange(this.indexKey, 0, -1);
    const entries: RegistryEntry[] = [];
    const serviceIds = ids.filter((id) => !id.startsWith('sg-'));
    const services = new Map((await this.getMany(serviceIds)).map((service) => [service.id, service]));
    for (const id of ids) {
      if (id.startsWith('sg-')) {
        const view = await this.getGroupView(id);
        if (view) entries.push({ type: 'group', ...view });
      } else {
        const service = services.get(id);
        if (service) entries.push({ type: 'service', service });
      }
    }
    return entries;
  }

  async getGroupView(id: string): Promise<GroupView | undefined> {
    const group = await this.getGroup(id);
    if (!group) return undefined;
    return { group, jobs: await this.getMany(group.job_ids) };
  }

  /** The service `id` names; the job id of a successor that took over a service names that service. */
  async get(id: string): Promise<StoredService | undefined> {
    const key = this.serviceKey(id);
    const hash = await this.redis.hgetall(key);
    if (Object.keys(hash).length === 0) return undefined;
    // One hop: a service's record is never itself promoted into another.
    if (hash.promoted_into) return this.getOwn(hash.promoted_into);
    return deserialise(key, hash);
  }

  /** The record stored under `id` itself, never the service a successor was promoted into. */
  async getOwn(id: string): Promise<StoredService | undefined> {
    const key = this.serviceKey(id);
    const hash = await this.redis.hgetall(key);
    return Object.keys(hash).length === 0 ? undefined : deserialise(key, hash);
  }

  async exists(id: string): Promise<boolean> {
    return (await this.redis.exists(this.serviceKey(id))) === 1;
  }

  async getMany(ids: readonly string[]): Promise<StoredService[]> {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.serviceKey(id));
    const results = (await pipeline.exec()) ?? [];
    const services: StoredService[] = [];
    for (const [index, [error, hash]] of results.entries()) {
      if (error) throw error;
      const fields = hash as Record<string, string>;
      if (Object.keys(fields).length > 0)
        services.push(deserialise(this.serviceKey(ids[index] ?? '?'), fields));
    }
    return services;
  }

  /** Ids of services that are not in a terminal state: what the worker polls and the prober probes. */
  async activeIds(): Promise<string[]> {
    return this.redis.smembers(this.activeKey);
  }

  /** Ids of services stopped for idleness: not active (nothing polls them), but still routable by model. */
  async idleIds(): Promise<string[]> {
    return this.redis.smembers(this.idleKey);
  }

  /** Applies what the scheduler said. Returns false when the record was already final (or gone). */
  async applySchedulerState(
    id: string,
    observation: SchedulerObservation,
    now = new Date(),
  ): Promise<boolean> {
    const fields: Record<string, string> = {
      scheduler_state: observation.state,
      updated_at: now.toISOString(),
    };
    if (observation.node !== undefined) fields.node = observation.node ?? '';
    if (observation.reason !== undefined) fields.status_reason = observation.reason ?? '';
    if (observation.exitCode !== undefined)
      fields.exit_code = observation.exitCode === null ? '' : String(observation.exitCode);
    if (observation.endpoint !== undefined) fields.endpoint = observation.endpoint ?? '';
    for (const [index, endpoint] of Object.entries(observation.replicaEndpoints ?? {})) {
      fields[`r${index}_endpoint`] = endpoint ?? '';
      if (endpoint !== null) fields[`r${index}_port`] = new URL(endpoint).port;
      // A replica that ended is not ready; having been seen ready, it now counts as failed.
      if (endpoint === null) fields[`r${index}_ready`] = '0';
    }
    if (observation.queue !== undefined) Object.assign(fields, queueFields(observation.queue));
    if (observation.submittedAt !== undefined) fields.submitted_at = observation.submittedAt;
    if (observation.startedAt !== undefined) fields.started_at = observation.startedAt;
    if (observation.endedAt !== undefined) fields.ended_at = observation.endedAt;
    if (isTerminalJobState(observation.state)) {
      fields.ready = '0';
      // A record already final is refused below, so a final state applied now is the job's end
      // (a cancel, recorded before any poll sees it): nothing polls the record after it.
      if (observation.endedAt === undefined) fields.ended_at = now.toISOString();
    }
    const applied = (await this.redis.eval(
      APPLY_STATE_LUA,
      3,
      this.serviceKey(id),
      this.activeKey,
      this.changesChannel,
      observation.jobId ?? '',
      observation.generationStartedAt ?? '',
      ...Object.entries(fields).flat(),
    )) as number;
    return applied === 1;
  }

  /** Data-plane use of these services at `nowMs` (the proxy writes it, throttled). */
  async recordUse(ids: readonly string[], nowMs: number): Promise<void> {
    if (ids.length === 0) return;
    await this.redis.hset(this.lastUseKey, Object.fromEntries(ids.map((id) => [id, String(nowMs)])));
  }

  /** Last recorded use (epoch ms) of each id, undefined where none is recorded. */
  async lastUses(ids: readonly string[]): Promise<(number | undefined)[]> {
    if (ids.length === 0) return [];
    const values = await this.redis.hmget(this.lastUseKey, ...ids);
    return values.map((value) => (value === null || !/^[0-9]+$/.test(value) ? undefined : Number(value)));
  }

  /**
   * The recording half of an idle stop, before its job is cancelled (see MARK_IDLE_LUA). `marked`:
   * the record is now idle and its job may be cancelled; `used`: a request came in since the decision.
   */
  async markIdle(
    id: string,
    jobId: string,
    timeoutMs: number,
    now = new Date(),
  ): Promise<'marked' | 'used' | 'not-running'> {
    const reply = (await this.redis.eval(
      MARK_IDLE_LUA,
      5,
      this.serviceKey(id),
      this.activeKey,
      this.changesChannel,
      this.lastUseKey,
      this.idleKey,
      jobId,
      String(now.getTime()),
      String(timeoutMs),
      now.toISOString(),
      id,
      `stopped after ${timeoutMs / 60_000} minutes without use (idle_timeout); the next request starts it again`,
    )) as number;
    return reply === 1 ? 'marked' : reply === 2 ? 'used' : 'not-running';
  }

  /** A data-plane request found the service idle: the worker starts it again. Idempotent. */
  async requestWake(id: string, now = Date.now()): Promise<void> {
    await this.redis.multi().sadd(this.wakeRequestsKey, id).hset(this.lastUseKey, id, String(now)).exec();
  }

  async wakeRequests(): Promise<string[]> {
    return this.redis.smembers(this.wakeRequestsKey);
  }

  async dropWakeRequest(id: string): Promise<void> {
    await this.redis.srem(this.wakeRequestsKey, id);
  }

  /**
   * Puts the new job of an idle service in place (see RECORD_WAKE_LUA). False when another attempt
   * already did, or the service is no longer idle with `fromJobId`.
   */
  async recordWake(
    id: string,
    fromJobId: string,
    next: {
      jobId: string;
      generation: number;
      apiKey?: string;
      jobDir: string;
      generations: readonly GenerationRecord[];
    },
    now = new Date(),
  ): Promise<boolean> {
    const fields: Record<string, string> = {
      job_id: next.jobId,
      job_dir: next.jobDir,
      generation: String(next.generation),
      generations: JSON.stringify(next.generations),
      scheduler_state: 'PENDING',
      ready: '0',
      endpoint: '',
      node: '',
      exit_code: '',
      status_reason: '',
      last_probe_at: '',
      ...(next.apiKey === undefined ? {} : { api_key: next.apiKey }),
    };
    const reply = (await this.redis.eval(
      RECORD_WAKE_LUA,
      7,
      this.serviceKey(id),
      this.activeKey,
      this.changesChannel,
      this.lastUseKey,
      this.wakeRequestsKey,
      this.idleKey,
      this.serviceKey(next.jobId),
      fromJobId,
      now.toISOString(),
      String(now.getTime()),
      id,
      ...Object.entries(fields).flat(),
    )) as number;
    return reply === 1;
  }

  /** Cancels an idle service's record (its job already ended). False when it is not idle. */
  async cancelIdle(id: string, now = new Date()): Promise<boolean> {
    const reply = (await this.redis.eval(
      CANCEL_IDLE_LUA,
      4,
      this.serviceKey(id),
      this.wakeRequestsKey,
      this.changesChannel,
      this.idleKey,
      now.toISOString(),
      id,
    )) as number;
    return reply === 1;
  }

  /**
   * One replica's readiness; the prober writes it, and the proxy when a replica refuses a connection.
   * Returns true when its job was first ready now.
   */
  async setReplicaReadiness(id: string, index: number, ready: boolean, now = new Date()): Promise<boolean> {
    const written = await this.redis.eval(
      SET_REPLICA_READINESS_LUA,
      2,
      this.serviceKey(id),
      this.changesChannel,
      `r${index}_`,
      ready ? '1' : '0',
      now.toISOString(),
    );
    return written === 2;
  }

  /**
   * Readiness as the prober (or the proxy, on a refused connection) saw it at `endpoint`: not
   * written when the record has moved to another endpoint since (a rollover). Returns true when the
   * service was first ready now.
   */
  async setReadiness(id: string, ready: boolean, now = new Date(), endpoint?: string): Promise<boolean> {
    // Readiness of a final record is meaningless; skip rather than touch updated_at.
    const written = await this.redis.eval(
      SET_READINESS_LUA,
      2,
      this.serviceKey(id),
      this.changesChannel,
      ready ? '1' : '0',
      now.toISOString(),
      endpoint ?? '',
    );
    return written === 2;
  }

  /** Notes how long a job of `recipe` took from start to ready; the longest one is kept. */
  async recordStartup(recipe: string, seconds: number): Promise<void> {
    if (!Number.isFinite(seconds) || seconds < 0) return;
    await this.redis.eval(RECORD_STARTUP_LUA, 1, this.startupKey, recipe, String(Math.ceil(seconds)));
  }

  /** The longest start-up (started → ready) observed for a recipe, in seconds, or null if none yet. */
  async longestStartupSeconds(recipe: string): Promise<number | null> {
    const value = Number(await this.redis.hget(this.startupKey, recipe));
    return Number.isFinite(value) && value > 0 ? value : null;
  }

  /** A single service's rollover fields (state, message, successor), as the worker moves it on. */
  async setRollover(
    id: string,
    rollover: {
      state: RolloverState;
      message: string | null;
      successorId?: string | null;
      stoppingJobId?: string | null;
    },
  ): Promise<void> {
    const fields: Record<string, string> = {
      rollover_state: rollover.state,
      rollover_message: rollover.message ?? '',
    };
    if (rollover.successorId !== undefined) fields.successor_id = rollover.successorId ?? '';
    if (rollover.stoppingJobId !== undefined) fields.stopping_job_id = rollover.stoppingJobId ?? '';
    await this.redis.multi().hset(this.serviceKey(id), fields).publish(this.changesChannel, id).exec();
  }

  /** Adds a warning to a single service's record (once). */
  async addWarning(id: string, warning: string): Promise<void> {
    const service = await this.getOwn(id);
    if (!service) return;
    const warnings = service.warnings ?? [];
    if (warnings.includes(warning)) return;
    await this.redis
      .multi()
      .hset(this.serviceKey(id), 'warnings', JSON.stringify([...warnings, warning]))
      .publish(this.changesChannel, id)
      .exec();
  }

  async setGenerations(id: string, generations: readonly GenerationRecord[]): Promise<void> {
    await this.redis.hset(this.serviceKey(id), 'generations', JSON.stringify(generations));
  }

  /** See PROMOTE_LUA. `force` takes over a successor that is not ready yet. */
  async promoteSuccessor(
    id: string,
    successorId: string,
    next: { generations: readonly GenerationRecord[]; state: RolloverState; message: string | null },
    force = false,
    now = new Date(),
  ): Promise<'promoted' | 'final' | 'not-ready'> {
    const result = (await this.redis.eval(
      PROMOTE_LUA,
      4,
      this.serviceKey(id),
      this.serviceKey(successorId),
      this.activeKey,
      this.changesChannel,
      now.toISOString(),
      JSON.stringify(next.generations),
      next.state,
      next.message ?? '',
      force ? '1' : '0',
    )) as number;
    return result === 1 ? 'promoted' : result === 0 ? 'final' : 'not-ready';
  }

  /**
   * Rewrites a group's document through `change`, again if another writer got there first.
   * Returns the group as written, or undefined when it does not exist (or `change` returns undefined).
   */
  async updateGroup(
    id: string,
    change: (group: StoredGroup) => StoredGroup | undefined,
  ): Promise<StoredGroup | undefined> {
    const key = this.groupKey(id);
    for (let attempt = 0; attempt < 10; attempt += 1) {
      await this.redis.watch(key);
      const raw = await this.redis.get(key);
      const changed = raw === null ? undefined : change(parseJsonRecord(key, storedGroupSchema, raw));
      if (!changed) {
        await this.redis.unwatch();
        return undefined;
      }
      const written = await this.redis
        .multi()
        .set(key, JSON.stringify(changed))
        .publish(this.changesChannel, id)
        .exec();
      if (written !== null) return changed;
    }
    throw new Error(`group ${id} kept changing while being updated`);
  }
}

/**
 * The Pub/Sub channel every write that changes what a service or group serves is announced on (the
 * message is its id), so a reader such as the proxy can keep the records in memory instead of
 * reading Redis per request. Announcements are best effort (a subscriber that was disconnected
 * misses them): a reader still re-reads now and then.
 */
export function registryChangesChannel(prefix: string): string {
  return `${prefix}:changed`;
}

export interface GroupView {
  group: StoredGroup;
  jobs: StoredService[];
}

export type RegistryEntry = ({ type: 'group' } & GroupView) | { type: 'service'; service: StoredService };

/** The record as the contract shows it; internal fields stay inside the control plane. */
export function toServiceRecord(service: StoredService): ServiceRecord {
  const record: ServiceRecord = {
    id: service.id,
    name: service.name,
    recipe_name: service.recipe_name,
    status: storedStatus(service),
    config: service.config,
    created_at: service.created_at,
    updated_at: service.updated_at,
    endpoint: service.endpoint,
    job_id: service.job_id,
    type: 'service',
    warnings: service.warnings ?? [],
    timeline: service.timeline,
    generations: serviceGenerations(service),
    rollover: serviceRollover(service),
  };
  const queue = recordQueue(service);
  if (queue) record.queue = queue;
  return record;
}

/** The jobs a service ran as; the current one ends when the service does. */
export function serviceGenerations(service: StoredService): GenerationRecord[] {
  const generations = service.generations ?? [
    { job_id: service.job_id, started_at: service.timeline.started_at, ended_at: null },
  ];
  return generations.map((generation) =>
    generation.job_id === service.job_id && generation.ended_at === null
      ? { ...generation, ended_at: service.timeline.ended_at }
      : generation,
  );
}

/** The `rollover` a record shows: off once the service ended, unless it ended because it was late. */
export function serviceRollover(service: StoredService): RolloverInfo {
  const stored = service.rollover_state ?? 'off';
  const ended = isTerminalJobState(service.scheduler_state);
  const state: RolloverState = ended && stored !== 'late' && stored !== 'off' ? 'off' : stored;
  return {
    state,
    message: state === stored ? (service.rollover_message ?? null) : null,
    successor_job_id: ended ? null : (service.successor_id ?? null),
  };
}

/** The status a client sees for a stored service: the scheduler's and the prober's word, unless stopped for idleness. */
export function storedStatus(service: StoredService): ServiceStatus {
  return service.idle_since === undefined ? deriveStatus(service.scheduler_state, service.ready) : 'idle';
}

const UNKNOWN_QUEUE: QueueInfo = { position: null, reason: null, estimated_start: null };

/**
 * The `queue` a record shows: present exactly while the job's status is pending, unknown until a
 * poll has read the scheduler's queue (or always, under a scheduler that has none).
 */
export function recordQueue(service: StoredService): QueueInfo | undefined {
  if (storedStatus(service) !== 'pending') return undefined;
  return service.queue ?? UNKNOWN_QUEUE;
}

/** The hash fields of a queue; empty strings clear it. */
function queueFields(queue: QueueInfo | null): Record<string, string> {
  return {
    queue_position: queue === null || queue.position === null ? '' : String(queue.position),
    queue_reason: queue?.reason ?? '',
    queue_estimated_start: queue?.estimated_start ?? '',
  };
}

function storedQueue(hash: Record<string, string>): { queue?: QueueInfo } {
  const position = orNull(hash.queue_position);
  const reason = orNull(hash.queue_reason);
  const estimated = orNull(hash.queue_estimated_start);
  if (position === null && reason === null && estimated === null) return {};
  const number = Number(position);
  return {
    queue: {
      position: position !== null && Number.isInteger(number) && number > 0 ? number : null,
      reason,
      estimated_start: estimated,
    },
  };
}

function serialise(service: StoredService): Record<string, string> {
  return {
    id: service.id,
    job_id: service.job_id,
    name: service.name,
    recipe_name: service.recipe_name,
    kind: service.kind,
    config: JSON.stringify(service.config),
    created_at: service.created_at,
    updated_at: service.updated_at,
    submission_id: service.submission_id,
    job_dir: service.job_dir,
    readiness_path: service.readiness_path,
    scheduler_state: service.scheduler_state,
    endpoint: service.endpoint ?? '',
    node: service.node ?? '',
    ready: service.ready ? '1' : '0',
    status_reason: service.status_reason ?? '',
    exit_code: service.exit_code === null ? '' : String(service.exit_code),
    last_probe_at: service.last_probe_at ?? '',
    group_id: service.group_id ?? '',
    node_index: service.node_index === null ? '' : String(service.node_index),
    replica_gpus: JSON.stringify(service.replicas.map((replica) => replica.gpu_ids)),
    ...(service.api_key === undefined ? {} : { api_key: service.api_key }),
    ...(service.warnings === undefined ? {} : { warnings: JSON.stringify(service.warnings) }),
    ...(service.queue === undefined ? {} : queueFields(service.queue)),
    submitted_at: service.timeline.submitted_at ?? '',
    started_at: service.timeline.started_at ?? '',
    ready_at: service.timeline.ready_at ?? '',
    ended_at: service.timeline.ended_at ?? '',
    generation: String(service.generation),
    ...(service.generations === undefined ? {} : { generations: JSON.stringify(service.generations) }),
    ...(service.rollover_state === undefined ? {} : { rollover_state: service.rollover_state }),
    rollover_message: service.rollover_message ?? '',
    successor_id: service.successor_id ?? '',
    rollover_of: service.rollover_of ?? '',
    stopping_job_id: service.stopping_job_id ?? '',
    ...(service.idle_since === undefined ? {} : { idle_since: service.idle_since }),
    ...Object.fromEntries(
      service.replicas.flatMap((replica): [string, string][] => [
        [`r${replica.index}_endpoint`, replica.endpoint ?? ''],
        [`r${replica.index}_ready`, replica.ready ? '1' : '0'],
        [`r${replica.index}_seen_ready`, replica.seen_ready ? '1' : '0'],
        ...(replica.last_port === undefined
          ? []
          : [[`r${replica.index}_port`, String(replica.last_port)] as [string, string]]),
      ]),
    ),
  };
}

function deserialiseReplicas(key: string, hash: Record<string, string>): StoredReplica[] {
  const gpus = parseJsonRecord(`${key} replica_gpus`, replicaGpusSchema, hash.replica_gpus ?? '[]');
  return gpus.map((gpu_ids, index) => ({
    index,
    gpu_ids,
    endpoint: orNull(hash[`r${index}_endpoint`]),
    ready: hash[`r${index}_ready`] === '1',
    seen_ready: hash[`r${index}_seen_ready`] === '1',
    ...lastPort(hash[`r${index}_port`]),
  }));
}

function lastPort(value: string | undefined): { last_port?: number } {
  const port = Number(value);
  return value !== undefined && Number.isInteger(port) && port > 0 ? { last_port: port } : {};
}

function orNull(value: string | undefined): string | null {
  return value === undefined || value === '' ? null : value;
}

function deserialise(key: string, hash: Record<string, string>): StoredService {
  const fields = parseRecord(key, serviceHashSchema, hash);
  const exitCode = orNull(fields.exit_code);
  const nodeIndex = orNull(fields.node_index);
  return {
    id: fields.id,
    job_id: fields.job_id,
    name: fields.name,
    recipe_name: fields.recipe_name,
    kind: fields.kind,
    config: parseJsonRecord(`${key} config`, serviceConfigSchema, fields.config),
    created_at: fields.created_at,
    updated_at: fields.updated_at,
    submission_id: fields.submission_id,
    job_dir: fields.job_dir,
    readiness_path: fields.readiness_path,
    scheduler_state: fields.scheduler_state,
    endpoint: orNull(hash.endpoint),
    node: orNull(hash.node),
    ready: hash.ready === '1',
    status_reason: orNull(hash.status_reason),
    exit_code: exitCode === null ? null : Number(exitCode),
    last_probe_at: orNull(hash.last_probe_at),
    group_id: orNull(hash.group_id),
    node_index: nodeIndex === null ? null : Number(nodeIndex),
    replicas: deserialiseReplicas(key, hash),
    ...(hash.api_key ? { api_key: hash.api_key } : {}),
    ...(hash.warnings ? { warnings: parseJsonRecord(`${key} warnings`, warningsSchema, hash.warnings) } : {}),
    ...storedQueue(hash),
    timeline: {
      submitted_at: orNull(hash.submitted_at),
      started_at: orNull(hash.started_at),
      ready_at: orNull(hash.ready_at),
      ended_at: orNull(hash.ended_at),
    },
    generation: positiveInteger(hash.generation) ?? 1,
    ...(hash.idle_since ? { idle_since: hash.idle_since } : {}),
    ...(hash.generations
      ? { generations: parseJsonRecord(`${key} generations`, generationsSchema, hash.generations) }
      : {}),
    ...(hash.rollover_state ? { rollover_state: rolloverStateSchema.parse(hash.rollover_state) } : {}),
    // Absent rather than null when empty, so a record reads back as it was written.
    ...optional('rollover_message', hash.rollover_message),
    ...optional('successor_id', hash.successor_id),
    ...optional('rollover_of', hash.rollover_of),
    ...optional('stopping_job_id', hash.stopping_job_id),
  };
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value ? ({ [key]: value } as Partial<Record<K, string>>) : {};
}

function positiveInteger(value: string | undefined): number | undefined {
  const number = Number(value);
  return value !== undefined && Number.isInteger(number) && number > 0 ? number : undefined;
}
