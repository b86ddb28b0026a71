import { Controller, Get, Param } from '@nestjs/common';
import { servedPath, type RecipeDetail, type RecipeSummary } from '@aiplane/contracts';
import { RecipeCatalogue, type Recipe } from '@aiplane/recipes';
import { NotFoundError } from '@aiplane/server-kit';

/** What the orchestrator serves beyond the contract's detail: the recipe's readiness probe. */
interface ServedRecipeDetail extends RecipeDetail {
  readiness: Recipe['readiness'];
}

function summary(recipe: Recipe): RecipeSummary {
  return {
    name: recipe.name,
    category: recipe.category,
    path: recipe.path,
    description: recipe.description,
    version: recipe.version,
    resources: recipe.resources,
    ports: [recipe.ports.base],
    ...(recipe.gpu_per_replica === undefined
      ? {}
      : { gpu_per_replica: recipe.gpu_per_replica, base_port: recipe.ports.base }),
  };
}

@Controller()
export class RecipesController {
  constructor(private readonly recipes: RecipeCatalogue) {}

  @Get(servedPath('recipes.list', 'orchestrator'))
  list(): RecipeSummary[] {
    return this.recipes.list().map(summary);
  }

  @Get(servedPath('recipes.get', 'orchestrator'))
  get(@Param('name') name: string): ServedRecipeDetail {
    return this.detail(name);
  }

  @Get(servedPath('recipes.getInCategory', 'orchestrator'))
  getInCategory(@Param('category') category: string, @Param('name') name: string): ServedRecipeDetail {
    return this.detail(`${category}/${name}`);
  }

  private detail(name: string): ServedRecipeDetail {
    const recipe = this.recipes.resolve(name);
    if (!recipe) {
      throw new NotFoundError(
        `Unknown recipe "${name.slice(0, 128)}". Known recipes: ${this.recipes.paths().join(', ')}`,
      );
    }
    return {
      ...summary(recipe),
      environment: recipe.environment,
      parameters: Object.fromEntries(recipe.parameters.map(({ name, ...rest }) => [name, rest])),
      readiness: recipe.readiness,
    };
  }
}
