/*
 * Admitting a create: the idempotency check, the deployment's quotas and the submission's write
 * are one Lua script, so two creates racing for the last slot cannot both pass it, and a store
 * that refuses writes (OOM, READONLY replica, MISCONF) refuses all of them: no half-written
 * submission is ever left behind.
 */

/** The per-deployment quotas a create is admitted against. */
export interface AdmissionLimits {
  /** Services and groups that hold resources at once (a rollover successor is the same one). */
  maxServices: number;
  /** GPUs of all of them together (per-node GPUs × nodes). */
  maxGpus: number;
  /** Node jobs of all of them together: what bounds the scheduler calls. */
  maxNodes: number;
  /** Creates admitted in any 60 s. */
  createsPerMinute: number;
}

export type QuotaName = 'services' | 'gpus' | 'nodes' | 'creates_per_minute';

export interface AdmissionRequest {
  submissionId: string;
  /** The submission document, as createSubmission would write it. */
  document: string;
  /** sha256 of the request's canonical body: the same Idempotency-Key with another body is a conflict. */
  bodySha256: string;
  gpus: number;
  nodes: number;
  limits: AdmissionLimits;
  /**
   * How long the reservation counts while no job of the submission is active yet (the worker is
   * still submitting it); after that only its active jobs keep it.
   */
  holdMs: number;
  now: number;
}

export type AdmissionOutcome =
  | { kind: 'created' }
  | { kind: 'replay' }
  | { kind: 'conflict' }
  | { kind: 'over'; quota: QuotaName; used: number; limit: number; retryAfterS: number };

const RATE_WINDOW_MS = 60_000;

// `#!lua` without flags: Redis refuses the whole script up front when it may not write (OOM under
// noeviction, a read-only replica, MISCONF), so either every write below lands or none does.
// KEYS: submission, ledger (hash: submission id → "gpus nodes hold-until-ms"), recent creates
// (zset), active service ids (set). ARGV: now, submission id, document, ttl s, body sha256, gpus,
// nodes, max services, max gpus, max nodes, creates per minute, hold until ms, service key prefix.
export const ADMIT_SUBMISSION_LUA = `#!lua
local now = tonumber(ARGV[1])
local existing = redis.call('GET', KEYS[1])
if existing then
  local ok, doc = pcall(cjson.decode, existing)
  if ok and type(doc) == 'table' and type(doc.body_sha256) == 'string' and doc.body_sha256 ~= ARGV[5] then
    return {'conflict'}
  end
  return {'replay'}
end
local live = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  local submission = redis.call('HGET', ARGV[13] .. id, 'submission_id')
  if submission then live[submission] = true end
end
local services, gpus, nodes = 0, 0, 0
local held = redis.call('HGETALL', KEYS[2])
for i = 1, #held, 2 do
  local g, n, untilMs = string.match(held[i + 1], '^(%d+) (%d+) (%d+)$')
  if g and (live[held[i]] or tonumber(untilMs) > now) then
    services = services + 1
    gpus = gpus + tonumber(g)
    nodes = nodes + tonumber(n)
  else
    redis.call('HDEL', KEYS[2], held[i])
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - ${RATE_WINDOW_MS})
local recent = redis.call('ZCARD', KEYS[3])
if recent >= tonumber(ARGV[11]) then
  local oldest = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  local wait = math.ceil((tonumber(oldest[2]) + ${RATE_WINDOW_MS} - now) / 1000)
  return {'over', 'creates_per_minute', tostring(recent), ARGV[11], tostring(math.max(wait, 1))}
end
if services + 1 > tonumber(ARGV[8]) then return {'over', 'services', tostring(services), ARGV[8], '60'} end
if gpus + tonumber(ARGV[6]) > tonumber(ARGV[9]) then return {'over', 'gpus', tostring(gpus), ARGV[9], '60'} end
if nodes + tonumber(ARGV[7]) > tonumber(ARGV[10]) then return {'over', 'nodes', tostring(nodes), ARGV[10], '60'} end
redis.call('SET', KEYS[1], ARGV[3], 'EX', tonumber(ARGV[4]))
redis.call('HSET', KEYS[2], ARGV[2], ARGV[6] .. ' ' .. ARGV[7] .. ' ' .. ARGV[12])
redis.call('ZADD', KEYS[3], now, ARGV[2])
return {'created'}
`;

const QUOTAS: readonly QuotaName[] = ['services', 'gpus', 'nodes', 'creates_per_minute'];

/** The script's answer, checked: anything else is a bug worth a 500. */
export function parseAdmission(reply: unknown): AdmissionOutcome {
  if (!Array.isArray(reply)) throw new Error(`Unexpected admission reply ${JSON.stringify(reply)}`);
  const [kind, quota, used, limit, retry] = reply as unknown[];
  if (kind === 'created' || kind === 'replay' || kind === 'conflict') return { kind };
  if (kind === 'over' && QUOTAS.includes(quota as QuotaName)) {
    return {
      kind,
      quota: quota as QuotaName,
      used: Number(used),
      limit: Number(limit),
      retryAfterS: Number(retry),
    };
  }
  throw new Error(`Unexpected admission reply ${JSON.stringify(reply)}`);
}
