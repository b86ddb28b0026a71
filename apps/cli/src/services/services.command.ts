import { routePath, type CancelResponse, type ServiceConfig } from '@aiplane/contracts';
import { Argument, InvalidArgumentError, Option, type Command } from 'commander';
import {
  collectEnv,
  integerParser,
  parseDuration,
  parseJsonObject,
  parseServiceId,
} from '../common/arguments.parse';
import type { CliContext } from '../common/cli.context';
import { usageError } from '../common/cli.errors';
import { colorStatus } from '../common/output.format';
import { followLogs } from './services.logs';
import { renderServiceDetail, renderServiceList, type EntryRecord } from './services.format';
import { waitUntilRunning } from './services.wait';

interface CreateOptions {
  config?: Record<string, unknown>;
  env?: Record<string, string>;
  model?: string;
  gpu?: number;
  cpu?: number;
  memory?: string;
  nodes?: number;
  timeLimit?: number;
  wait?: boolean;
  timeout?: number;
}

const idArgument = (): Argument =>
  new Argument('<id>', 'service id (the scheduler job id) or group id (sg-<job id>)').argParser(
    parseServiceId,
  );

const timeoutOption = (): Option =>
  new Option('--timeout <duration>', 'give up waiting after this long (e.g. 90s, 10m); exit 7').argParser(
    parseDuration,
  );

/** The create body's config: --config as the base, the flags on top (a flag wins). */
export function buildConfig(options: CreateOptions): ServiceConfig {
  const config = { ...(options.config ?? {}) } as ServiceConfig & Record<string, unknown>;
  const environment = { ...(config.environment ?? {}), ...(options.env ?? {}) };
  if (options.model !== undefined) environment.VLLM_MODEL = options.model;
  if (Object.keys(environment).length > 0) config.environment = environment;
  const resources = { ...(config.resources ?? {}) };
  if (options.gpu !== undefined) resources.gpu = options.gpu;
  if (options.cpu !== undefined) resources.cpu = options.cpu;
  if (options.memory !== undefined) resources.memory = options.memory;
  if (options.nodes !== undefined) resources.nodes = options.nodes;
  if (options.timeLimit !== undefined) resources.time_limit = options.timeLimit;
  if (Object.keys(resources).length > 0) config.resources = resources;
  return config;
}

function parseMemory(value: string): string {
  if (!/^\d+[KMGT]?$/i.test(value)) {
    throw new InvalidArgumentError(`"${value}" is not an amount like 16G, 512M or 64000 (megabytes)`);
  }
  return value.toUpperCase();
}

export function registerServicesCommand(program: Command, ctx: CliContext): void {
  const services = program
    .command('services')
    .alias('svc')
    .description('list, create, watch and cancel services (vLLM, Qdrant) and replica groups');

  services
    .command('ls')
    .alias('list')
    .description('list every service and group, newest first')
    .action(async () => {
      const entries = await ctx
        .gateway()
        .json<EntryRecord[]>('GET', routePath('services.list', 'gateway', {}), { what: 'services' });
      const sorted = [...entries].sort((a, b) => b.created_at.localeCompare(a.created_at));
      if (ctx.json()) ctx.printJson(sorted);
      else ctx.print(renderServiceList(sorted, Date.now(), ctx.colors(), ctx.width()));
    });

  services
    .command('show')
    .description("one service's record: status, queue, timeline, config")
    .addArgument(idArgument())
    .action(async (id: string) => {
      const record = await ctx
        .gateway()
        .json<EntryRecord>('GET', routePath('services.get', 'gateway', { id }), {
          what: `service ${id}`,
        });
      if (ctx.json()) ctx.printJson(record);
      else ctx.print(renderServiceDetail(record, Date.now(), ctx.colors()));
    });

  services
    .command('create')
    .description('create a service from a recipe (`aiplane recipes ls` lists them)')
    .argument('<recipe>', 'recipe name, e.g. inference/vllm-single-node or vllm-single-node')
    .addOption(
      new Option('--config <json>', 'the config object as JSON (flags below override it)').argParser(
        parseJsonObject,
      ),
    )
    .addOption(
      new Option('-e, --env <KEY=VALUE>', 'an environment variable of the job (repeatable)').argParser(
        collectEnv,
      ),
    )
    .option('--model <name>', 'the model to serve (environment.VLLM_MODEL)')
    .addOption(new Option('--gpu <n>', 'GPUs (0 = CPU only)').argParser(integerParser(0, 1024)))
    .addOption(new Option('--cpu <n>', 'CPU cores').argParser(integerParser(1, 4096)))
    .addOption(new Option('--memory <amount>', 'memory, e.g. 16G').argParser(parseMemory))
    .addOption(new Option('--nodes <n>', 'nodes').argParser(integerParser(1, 1024)))
    .addOption(
      new Option('--time-limit <minutes>', 'time limit in minutes').argParser(integerParser(1, 525_600)),
    )
    .option('-w, --wait', 'wait until it runs, showing its progress (exit 1 if it fails)')
    .addOption(timeoutOption())
    .action(async (recipe: string, options: CreateOptions) => {
      if (options.timeout !== undefined && options.wait !== true) {
        throw usageError('--timeout only applies with --wait');
      }
      const config = buildConfig(options);
      const record = await ctx
        .gateway()
        .json<EntryRecord>('POST', routePath('services.create', 'gateway', {}), {
          body: { recipe_name: recipe, ...(Object.keys(config).length === 0 ? {} : { config }) },
          what: `create ${recipe}`,
        });
      if (options.wait !== true) {
        if (ctx.json()) ctx.printJson(record);
        else
          ctx.print(
            `created ${record.type === 'service' ? 'service' : 'group'} ${record.id} (${record.recipe_name}): ${record.status}`,
          );
        return;
      }
      if (!ctx.json()) ctx.print(`created ${record.id} (${record.recipe_name}); waiting for it to run`);
      const running = await waitUntilRunning(ctx, record.id, timeoutOf(options));
      if (ctx.json()) ctx.printJson(running);
    });

  services
    .command('cancel')
    .alias('rm')
    .description('cancel a service or group (its record stays, with its history)')
    .addArgument(idArgument())
    .action(async (id: string) => {
      const answer = await ctx
        .gateway()
        .json<CancelResponse>('POST', routePath('services.updateStatus', 'gateway', { id }), {
          body: { status: 'cancelled' },
          what: `cancel ${id}`,
        });
      if (ctx.json()) ctx.printJson(answer);
      else ctx.print(`${id}: ${colorStatus(answer.status, ctx.colors())} (${answer.message})`);
    });

  services
    .command('logs')
    .description("a service's stdout and stderr (each replica's for groups)")
    .addArgument(idArgument())
    .addOption(
      new Option('-n, --lines <n>', 'how many last lines').argParser(integerParser(1, 10_000)).default(200),
    )
    .option('-f, --follow', 'keep printing new lines until the service ends (Ctrl-C stops)')
    .action(async (id: string, options: { lines: number; follow?: boolean }) => {
      if (options.follow === true) {
        if (ctx.json()) throw usageError('--follow streams text; it cannot be combined with --json');
        // Ctrl-C ends it like any command (exit 130); the service ending ends it with 0.
        await followLogs(ctx, id, options.lines);
        return;
      }
      const answer = await ctx
        .gateway()
        .json<{ logs: string }>('GET', routePath('services.logs', 'gateway', { id }), {
          query: { lines: options.lines },
          what: `logs of ${id}`,
        });
      if (ctx.json()) ctx.printJson(answer);
      else ctx.print(answer.logs);
    });

  services
    .command('wait')
    .description('wait until a service runs, showing queue position, estimate and phase (exit 1 if it fails)')
    .addArgument(idArgument())
    .addOption(timeoutOption())
    .action(async (id: string, options: { timeout?: number }) => {
      const record = await waitUntilRunning(ctx, id, timeoutOf(options));
      if (ctx.json()) ctx.printJson(record);
    });
}

function timeoutOf(options: { timeout?: number }): { timeoutMs?: number } {
  return options.timeout === undefined ? {} : { timeoutMs: options.timeout };
}
