import { routePath, type RecipeDetail, type RecipeSummary } from '@aiplane/contracts';
import type { Command } from 'commander';
import type { CliContext } from '../common/cli.context';
import { usageError } from '../common/cli.errors';
import { renderFields, renderTable, toJson, type Cell, type Colors } from '../common/output.format';

/** `gpu 1 · cpu 4 · memory 16G · time_limit 60`: a recipe's default resources on one line. */
export function resourcesText(resources: Record<string, unknown>): string {
  return Object.entries(resources)
    .filter(([, value]) => value !== undefined && value !== null && typeof value !== 'object')
    .map(([key, value]) => `${key} ${String(value as string | number | boolean)}`)
    .join(' · ');
}

export function renderRecipeList(recipes: readonly RecipeSummary[], colors: Colors, width?: number): string {
  const rows: Cell[][] = recipes.map((recipe) => [
    recipe.path,
    resourcesText(recipe.resources),
    recipe.ports.join(','),
    recipe.description,
  ]);
  return renderTable(['RECIPE', 'DEFAULT RESOURCES', 'PORTS', 'DESCRIPTION'], rows, colors, width);
}

export function renderRecipeDetail(recipe: RecipeDetail, colors: Colors): string {
  const fields: [string, Cell][] = [
    ['recipe', recipe.path],
    ['description', recipe.description],
    ['version', recipe.version],
    ['resources', resourcesText(recipe.resources)],
    ['ports', recipe.ports.join(', ')],
  ];
  if (recipe.gpu_per_replica !== undefined) fields.push(['gpu per replica', recipe.gpu_per_replica]);
  if (recipe.base_port !== undefined) fields.push(['base port', recipe.base_port]);
  fields.push([
    'environment',
    Object.entries(recipe.environment)
      .map(([key, value]) => `${key}=${value}`)
      .join('\n'),
  ]);
  if (Object.keys(recipe.parameters).length > 0) fields.push(['parameters', toJson(recipe.parameters)]);
  return renderFields(fields, colors);
}

export function registerRecipesCommand(program: Command, ctx: CliContext): void {
  const recipes = program.command('recipes').description('what services can be created from');

  recipes
    .command('ls')
    .alias('list')
    .description('list the recipes')
    .action(async () => {
      const list = await ctx
        .gateway()
        .json<RecipeSummary[]>('GET', routePath('recipes.list', 'gateway', {}), { what: 'recipes' });
      if (ctx.json()) ctx.printJson(list);
      else ctx.print(renderRecipeList(list, ctx.colors(), ctx.width()));
    });

  recipes
    .command('show')
    .description("a recipe's resources, ports, environment defaults and parameters")
    .argument('<name>', 'category/name or bare name, e.g. inference/vllm-single-node')
    .action(async (name: string) => {
      if (!/^[^/\s]+(\/[^/\s]+)?$/.test(name)) {
        throw usageError(
          `"${name}" is not a recipe name: use category/name or name (\`aiplane recipes ls\` lists them)`,
        );
      }
      const recipe = await ctx.gateway().json<RecipeDetail>('GET', recipePath(name), {
        what: `recipe ${name}`,
      });
      if (ctx.json()) ctx.printJson(recipe);
      else ctx.print(renderRecipeDetail(recipe, ctx.colors()));
    });
}

/** `category/name` or a bare `name`: the two forms the route table serves a recipe under. */
function recipePath(recipe: string): string {
  const [first = '', second] = recipe.split('/');
  return second === undefined
    ? routePath('recipes.get', 'gateway', { name: first })
    : routePath('recipes.getInCategory', 'gateway', { category: first, name: second });
}
