/**
 * Create a group of vLLM replicas and watch prompts spread over them.
 *
 *   node dist/examples/ts/vllm_replicas_example.js [--gateway URL]
 *
 * The default inference/vllm-replicas recipe runs 4 replicas (4 GPUs, 1 GPU per replica) on one
 * node. Prompts sent to the group are routed round-robin over its healthy replicas; `routed_to` names
 * the one that answered (`<job_id>:<port>`). The group is cancelled at the end.
 */
import {
  check,
  cleanup,
  Gateway,
  integerOption,
  parseOptions,
  runExample,
  say,
  type GroupRecord,
  type GroupStatus,
  type PromptAnswer,
} from './client';

const RECIPE = 'inference/vllm-replicas';

function printGroupStatus(status: GroupStatus): void {
  say(
    `Group ${status.group_id}: ${status.overall_status}, ` +
      `${status.healthy_replicas}/${status.total_replicas} healthy, ${status.starting_replicas} starting, ` +
      `${status.pending_replicas} pending, ${status.failed_replicas} failed`,
  );
  for (const replica of status.replica_statuses) {
    say(`  ${replica.id.padEnd(16)} ${replica.status.padEnd(12)} ${replica.endpoint ?? '-'}`);
  }
}

async function main(): Promise<void> {
  const options = parseOptions('Create a group of vLLM replicas and prompt it round-robin.', {
    'gpu-per-replica': { help: "GPUs per replica (default: the recipe's, 1: 4 replicas)" },
    prompts: { help: 'prompts to send (default: 8)', default: '8' },
    'max-tokens': { help: 'tokens to generate per prompt at most (default: 32)', default: '32' },
  });
  const gpuPerReplica = integerOption(options, 'gpu-per-replica');
  const prompts = integerOption(options, 'prompts') ?? 8;
  const maxTokens = integerOption(options, 'max-tokens') ?? 32;
  const gateway = new Gateway(options.gateway);
  say(`Gateway: ${gateway.base}`);

  say(`Creating a replica group from recipe ${RECIPE}...`);
  const group = await gateway.createService<GroupRecord>(
    RECIPE,
    gpuPerReplica === undefined ? undefined : { gpu_per_replica: gpuPerReplica },
  );
  const groupId = group.id;
  try {
    say(
      `  id ${groupId}: ${group.total_replicas} replicas, ${group.gpu_per_replica} GPU(s) each, ` +
        `ports from ${group.base_port}`,
    );
    say(`Waiting for every replica of ${groupId} to be ready...`);
    const status = await gateway.waitForGroup(groupId, options.timeoutMs);
    printGroupStatus(status);
    const replicas = new Set(status.replica_statuses.map((replica) => replica.id));

    say(`Sending ${prompts} prompts to the group...`);
    const routed: string[] = [];
    for (let n = 1; n <= prompts; n++) {
      const answer = await gateway.post<PromptAnswer>(`/vllm/${groupId}/prompt`, {
        prompt: `Prompt ${n}: name a prime number`,
        max_tokens: maxTokens,
      });
      check(answer.success && answer.routed_to !== undefined, `prompt failed: ${JSON.stringify(answer)}`);
      routed.push(answer.routed_to);
      const text = answer.text.split(/\s+/).join(' ').trim().slice(0, 50).trimEnd();
      say(`  #${n} routed_to ${answer.routed_to.padEnd(16)} ${text}`);
    }

    const counts = new Map<string, number>();
    for (const replica of routed) counts.set(replica, (counts.get(replica) ?? 0) + 1);
    const perReplica = [...counts.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([replica, count]) => `${replica}=${count}`);
    say(`Prompts per replica: ${perReplica.join(', ')}`);
    const outside = routed.filter((replica) => !replicas.has(replica));
    check(outside.length === 0, `a prompt was routed outside the group: ${outside.join(', ')}`);
    if (prompts >= replicas.size) {
      const skipped = [...replicas].filter((replica) => !counts.has(replica));
      check(skipped.length === 0, `round-robin skipped a healthy replica: ${skipped.join(', ')}`);
    }

    printGroupStatus(await gateway.get<GroupStatus>(`/service-groups/${groupId}/status`));
  } finally {
    await cleanup(() => gateway.cancelGroup(groupId));
  }
}

if (require.main === module) runExample(main);
