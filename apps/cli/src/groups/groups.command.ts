import { routePath, type GroupRecord, type GroupSummary } from '@aiplane/contracts';
import { Argument, type Command } from 'commander';
import { parseGroupId } from '../common/arguments.parse';
import type { CliContext } from '../common/cli.context';
import { colorStatus, formatAge, renderTable, type Cell, type Colors } from '../common/output.format';
import { renderServiceDetail } from '../services/services.format';

export function renderGroupList(groups: readonly GroupSummary[], now: number, colors: Colors): string {
  if (groups.length === 0)
    return 'No replica groups. `aiplane services create inference/vllm-replicas` makes one.';
  const rows: Cell[][] = groups.map((group) => [
    group.id,
    group.recipe_name,
    colorStatus(group.overall_status, colors),
    `${String(group.healthy_replicas)}/${String(group.total_replicas)}`,
    formatAge(group.created_at, now),
  ]);
  return renderTable(['ID', 'RECIPE', 'STATUS', 'HEALTHY', 'CREATED'], rows, colors);
}

export function renderReplicas(group: GroupRecord, colors: Colors): string {
  const rows: Cell[][] = group.node_jobs.flatMap((job) =>
    job.replicas.map((replica) => [
      replica.id,
      job.job_id,
      job.node,
      replica.port,
      replica.gpu_ids.join(','),
      colorStatus(replica.status, colors),
      replica.endpoint,
    ]),
  );
  return renderTable(['REPLICA', 'JOB', 'NODE', 'PORT', 'GPUS', 'STATUS', 'ENDPOINT'], rows, colors);
}

export function registerGroupsCommand(program: Command, ctx: CliContext): void {
  const groups = program
    .command('groups')
    .description('replica groups: one service spread over several replicas');

  groups
    .command('ls')
    .alias('list')
    .description('list replica groups with their healthy replicas')
    .action(async () => {
      const list = await ctx
        .gateway()
        .json<GroupSummary[]>('GET', routePath('serviceGroups.list', 'gateway', {}), { what: 'groups' });
      if (ctx.json()) ctx.printJson(list);
      else ctx.print(renderGroupList(list, Date.now(), ctx.colors()));
    });

  groups
    .command('show')
    .description("a group's record and each replica's status")
    .addArgument(new Argument('<id>', 'group id (sg-<job id>) or its bare job id').argParser(parseGroupId))
    .action(async (id: string) => {
      const group = await ctx
        .gateway()
        .json<GroupRecord>('GET', routePath('serviceGroups.get', 'gateway', { id }), {
          what: `group ${id}`,
        });
      if (ctx.json()) {
        ctx.printJson(group);
        return;
      }
      const colors = ctx.colors();
      ctx.print(renderServiceDetail(group, Date.now(), colors));
      ctx.print(renderReplicas(group, colors));
    });
}
