import * as path from 'node:path';
import { UnrecoverableError } from 'bullmq';
import { groupIdOf, redactSecrets, rolloverEnabled, schedulerJobName } from '@aiplane/contracts';
import {
  mergeConfig,
  replicasPerNode,
  type EffectiveConfig,
  type Recipe,
  type RecipeCatalogue,
} from '@aiplane/recipes';
import type { ServiceRegistry, Submission } from '@aiplane/registry';
import type { SchedulerKind } from '@aiplane/scheduler';
import type { Logger } from '@aiplane/server-kit';

// Shared by the submit handler and the start-up reconciliation, so that a job adopted after a
// crash between sbatch and the record write is planned and recorded exactly as a submit does it.

/** The generation the submit handler starts; rollover successors count up from it. */
export const FIRST_GENERATION = 1;

/** One scheduler job a submission needs: one for a single service, one per node for a group. */
export interface NodePlan {
  nodeIndex: number;
  /** `aiplane-<submission>-g<generation>`, plus `-n<k>` in a group: how the job is found again. */
  jobName: string;
  jobDir: string;
}

export interface SubmissionPlan {
  recipe: Recipe;
  effective: EffectiveConfig;
  grouped: boolean;
  nodes: NodePlan[];
}

/** A node job the scheduler accepted (in this attempt or an earlier one), in node order. */
export interface SubmittedJob {
  jobId: string;
  jobDir: string;
  /** The key the workload was started with; absent only for jobs started before keys existed. */
  apiKey?: string;
}

/** The directory under which each job of a deployment gets its own: `<STATE_DIR>/jobs`. */
export function jobsRoot(stateDir: string): string {
  return path.resolve(stateDir, 'jobs');
}

/**
 * The directory a submission's jobs share: the first generation's job dir (of a single service),
 * and where a vector database keeps its data across generations.
 */
export function submissionDir(stateDir: string, submissionId: string): string {
  return path.join(stateDir, 'jobs', submissionId);
}

/**
 * `generation` above the first names a later job of the same service (a rollover successor, or an
 * idle service started again), in a directory of its own under the first's; a vector database's
 * storage stays under the submission's directory for every generation.
 */
export function planSubmission(
  submission: Submission,
  recipes: RecipeCatalogue,
  stateDir: string,
  generation = FIRST_GENERATION,
): SubmissionPlan {
  const recipe = recipes.resolve(submission.recipe_name);
  if (!recipe)
    throw new UnrecoverableError(`recipe ${submission.recipe_name} is not in this worker's catalogue`);
  const effective = mergeConfig(recipe, submission.config);
  const grouped = effective.gpu_per_replica !== undefined;
  // A replica group is one scheduler job per node; a single service is one job.
  const count = grouped ? effective.resources.nodes : 1;
  // A successor runs beside its predecessor, so it writes its logs and endpoint elsewhere.
  const baseDir =
    generation === FIRST_GENERATION
      ? submissionDir(stateDir, submission.id)
      : path.join(submissionDir(stateDir, submission.id), `g${generation}`);
  const nodes = Array.from({ length: count }, (_, nodeIndex) => ({
    nodeIndex,
    jobName: schedulerJobName(submission.id, generation, grouped ? nodeIndex : undefined),
    jobDir: grouped ? path.join(baseDir, `n${nodeIndex}`) : baseDir,
  }));
  return { recipe, effective, grouped, nodes };
}

/**
 * Writes the record of every node job that has none (and the group's), then marks the submission
 * answered; returns the service id. Safe to repeat. The handler and the reconciler could both
 * record one submission only if a worker started while another was between its sbatch and this
 * call: both would then write the same initial record milliseconds apart, which the next poll
 * brings up to date.
 */
export async function recordSubmission(
  registry: ServiceRegistry,
  submission: Submission,
  plan: SubmissionPlan,
  jobs: readonly SubmittedJob[],
  logger: Pick<Logger, 'warn'>,
  scheduler: SchedulerKind,
): Promise<string> {
  const [first] = jobs;
  if (!first) throw new UnrecoverableError('no job was submitted');
  const { recipe, effective } = plan;
  const groupId = plan.grouped ? groupIdOf(first.jobId) : null;
  for (const [nodeIndex, job] of jobs.entries()) {
    await recordService(
      registry,
      logger,
      submission,
      job,
      recipe,
      {
        groupId,
        nodeIndex: plan.grouped ? nodeIndex : null,
        replicas: plan.grouped ? replicasPerNode(effective) : 0,
        gpuPerReplica: effective.gpu_per_replica ?? 0,
      },
      scheduler,
    );
  }
  if (
    groupId !== null &&
    (await needsRecord(registry, logger, groupId, await registry.getGroup(groupId), submission))
  ) {
    await registry.createGroup({
      id: groupId,
      job_ids: jobs.map(({ jobId }) => jobId),
      name: `${submission.recipe_name}-${groupId}`,
      recipe_name: submission.recipe_name,
      kind: recipe.kind,
      config: redactSecrets(submission.config),
      created_at: new Date().toISOString(),
      submission_id: submission.id,
      total_replicas: replicasPerNode(effective) * plan.nodes.length,
      gpu_per_replica: effective.gpu_per_replica ?? 0,
      base_port: portPreference(recipe, effective),
      warnings: submission.warnings ?? [],
      generation: FIRST_GENERATION,
      rollover: initialRollover(submission, scheduler),
    });
  }
  const serviceId = groupId ?? first.jobId;
  await registry.markSubmitted(submission, serviceId, initialRollover(submission, scheduler).state !== 'off');
  return serviceId;
}

/**
 * Every service starts with its rollover ahead of it, unless its config turned it off or its
 * scheduler has no time limit to roll over at (the local executor runs a job until it is stopped).
 */
export function initialRollover(
  submission: Pick<Submission, 'config'>,
  scheduler: SchedulerKind,
): {
  state: 'scheduled' | 'off';
  message: string | null;
} {
  if (!rolloverEnabled(submission.config))
    return { state: 'off', message: 'config.rollover is false: the service ends at its time limit' };
  if (scheduler === 'local')
    return {
      state: 'off',
      message: 'the local executor has no time limit: the job runs until it is stopped',
    };
  return { state: 'scheduled', message: null };
}

/**
 * Whether `id` still needs this submission's record: not when the record there is its own (a
 * repeat). A record of another submission belongs to an older job the scheduler has forgotten (its
 * numbering restarted): it is moved aside, never overwritten, and said in the log.
 */
async function needsRecord(
  registry: ServiceRegistry,
  logger: Pick<Logger, 'warn'>,
  id: string,
  existing: { submission_id: string } | undefined,
  submission: Submission,
): Promise<boolean> {
  if (existing === undefined) return true;
  if (existing.submission_id === submission.id) return false;
  const archivedAs = await registry.supersede(id);
  logger.warn(
    {
      service_id: id,
      old_submission: existing.submission_id,
      new_submission: submission.id,
      archived_as: archivedAs,
    },
    'the scheduler reused a job id an old record held; the old record was moved aside',
  );
  return true;
}

export async function recordService(
  registry: ServiceRegistry,
  logger: Pick<Logger, 'warn'>,
  submission: Submission,
  { jobId, jobDir, apiKey }: SubmittedJob,
  recipe: Recipe,
  group: { groupId: string | null; nodeIndex: number | null; replicas: number; gpuPerReplica: number },
  scheduler: SchedulerKind,
  successor?: { generation: number; rolloverOf: string | null },
): Promise<void> {
  if (!(await needsRecord(registry, logger, jobId, await registry.get(jobId), submission))) return;
  const rollover = initialRollover(submission, scheduler);
  const now = new Date().toISOString();
  await registry.createService({
    id: jobId,
    job_id: jobId,
    name: `${submission.recipe_name}-${jobId}`,
    recipe_name: submission.recipe_name,
    kind: recipe.kind,
    config: redactSecrets(submission.config),
    created_at: now,
    updated_at: now,
    submission_id: submission.id,
    job_dir: jobDir,
    readiness_path: recipe.readiness.path,
    scheduler_state: 'PENDING',
    endpoint: null,
    node: null,
    ready: false,
    status_reason: null,
    exit_code: null,
    last_probe_at: null,
    group_id: group.groupId,
    node_index: group.nodeIndex,
    // GPU indices as the job sees them; replica i gets the i-th slice of gpu_per_replica.
    replicas: Array.from({ length: group.replicas }, (_, index) => ({
      index,
      gpu_ids: Array.from({ length: group.gpuPerReplica }, (_, g) => String(index * group.gpuPerReplica + g)),
      endpoint: null,
      ready: false,
      seen_ready: false,
    })),
    ...(apiKey === undefined ? {} : { api_key: apiKey }),
    warnings: submission.warnings ?? [],
    timeline: { submitted_at: null, started_at: null, ready_at: null, ended_at: null },
    generation: successor?.generation ?? FIRST_GENERATION,
    rollover_state: rollover.state,
    rollover_message: rollover.message,
    rollover_of: successor?.rolloverOf ?? null,
  });
}

/** The port replica 0 prefers: the user's port variable when given, else the recipe's base. */
function portPreference(recipe: Recipe, effective: EffectiveConfig): number {
  const wanted = Number(
    effective.environment[recipe.kind === 'vllm' ? 'VLLM_PORT' : 'QDRANT__SERVICE__HTTP_PORT'],
  );
  return Number.isInteger(wanted) && wanted > 0 ? wanted : recipe.ports.base;
}
