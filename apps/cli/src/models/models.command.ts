import { routePath, type ModelInfo, type ModelSearchResponse } from '@aiplane/contracts';
import { Argument, InvalidArgumentError, Option, type Command } from 'commander';
import { integerParser } from '../common/arguments.parse';
import type { CliContext } from '../common/cli.context';
import { renderFields, renderTable, type Cell, type Colors } from '../common/output.format';

const SORT_KEYS = ['downloads', 'likes', 'last_modified', 'created_at'];

export function parseModelId(value: string): string {
  if (!/^[^/\s]+\/[^/\s]+$/.test(value)) {
    throw new InvalidArgumentError(
      `"${value}" is not a Hugging Face model id: use org/name, e.g. Qwen/Qwen2.5-0.5B-Instruct or openai-community/gpt2`,
    );
  }
  return value;
}

export function renderModelSearch(answer: ModelSearchResponse, colors: Colors): string {
  if (answer.models.length === 0) return 'No models matched.';
  const rows: Cell[][] = answer.models.map((model) => [
    model.id,
    model.architecture,
    model.vllm_compatible ? colors.green('yes') : colors.yellow('no'),
    model.downloads,
    model.likes,
  ]);
  return renderTable(['MODEL', 'ARCHITECTURE', 'VLLM', 'DOWNLOADS', 'LIKES'], rows, colors);
}

export function renderModelInfo(model: ModelInfo, colors: Colors): string {
  const fields: [string, Cell][] = [
    ['model', model.id],
    ['architecture', model.architecture],
    ['vLLM compatible', model.vllm_compatible ? 'yes' : 'no'],
    ['task', model.task_type ?? model.pipeline_tag],
    ['size', model.size_gb === null ? undefined : `${String(model.size_gb)} GB`],
    ['library', model.library_name],
    ['downloads', model.downloads],
    ['likes', model.likes],
    ['tags', model.tags.join(', ')],
  ];
  return renderFields(fields, colors);
}

export function registerModelsCommand(program: Command, ctx: CliContext): void {
  const models = program
    .command('models')
    .description('find models on the Hugging Face Hub (through the gateway)');

  models
    .command('search')
    .description('search the Hub for models vLLM can serve')
    .argument('[query]', 'free text, e.g. qwen')
    .addOption(new Option('--limit <n>', 'at most this many').argParser(integerParser(1, 100)).default(10))
    .option('--architecture <name>', 'only this architecture, e.g. Qwen2ForCausalLM')
    .addOption(new Option('--sort <key>', 'sort key').choices(SORT_KEYS))
    .action(
      async (query: string | undefined, options: { limit: number; architecture?: string; sort?: string }) => {
        const answer = await ctx
          .gateway()
          .json<ModelSearchResponse>('GET', routePath('vllm.searchModels', 'gateway', {}), {
            query: { query, limit: options.limit, architecture: options.architecture, sort_by: options.sort },
            what: 'model search',
          });
        if (ctx.json()) ctx.printJson(answer);
        else ctx.print(renderModelSearch(answer, ctx.colors()));
      },
    );

  models
    .command('info')
    .description("a model's architecture, size and whether vLLM serves it")
    .addArgument(new Argument('<model>', 'org/name, e.g. Qwen/Qwen2.5-0.5B-Instruct').argParser(parseModelId))
    .action(async (model: string) => {
      const [org = '', name = ''] = model.split('/');
      const path = routePath('vllm.modelInfo', 'gateway', { org, name });
      const info = await ctx.gateway().json<ModelInfo>('GET', path, {
        what: `model ${model}`,
      });
      if (ctx.json()) ctx.printJson(info);
      else ctx.print(renderModelInfo(info, ctx.colors()));
    });
}
