import { Controller, Get, Param } from '@nestjs/common';
import { RecipeCatalogue, type Recipe } from '@aiplane/recipes';
import { NotFoundError } from '@aiplane/server-kit';

export interface RecipeSummary {
  name: string;
  category: string;
  path: string;
  description: string;
  version: string;
  resources: Recipe['resources'];
  ports: Recipe['ports'];
  gpu_per_replica?: number;
  base_port?: number;
}

function summary(recipe: Recipe): RecipeSummary {
  return {
    name: recipe.name,
    category: recipe.category,
    path: recipe.path,
    description: recipe.description,
    version: recipe.version,
    resources: recipe.resources,
    ports: recipe.ports,
    ...(recipe.gpu_per_replica === undefined
      ? {}
      : { gpu_per_replica: recipe.gpu_per_replica, base_port: recipe.ports.base }),
  };
}

@Controller('recipes')
export class RecipesController {
  constructor(private readonly recipes: RecipeCatalogue) {}

  @Get()
  list(): RecipeSummary[] {
    return this.recipes.list().map(summary);
  }

  @Get(':name')
  get(@Param('name') name: string): RecipeSummary & Pick<Recipe, 'environment' | 'parameters' | 'readiness'> {
    return this.detail(name);
  }

  @Get(':category/:name')
  getInCategory(
    @Param('category') category: string,
    @Param('name') name: string,
  ): RecipeSummary & Pick<Recipe, 'environment' | 'parameters' | 'readiness'> {
    return this.detail(`${category}/${name}`);
  }

  private detail(name: string): RecipeSummary & Pick<Recipe, 'environment' | 'parameters' | 'readiness'> {
    const recipe = this.recipes.resolve(name);
    if (!recipe) {
      throw new NotFoundError(
        `Unknown recipe "${name.slice(0, 128)}". Known recipes: ${this.recipes.paths().join(', ')}`,
      );
    }
    return {
      ...summary(recipe),
      environment: recipe.environment,
      parameters: recipe.parameters,
      readiness: recipe.readiness,
    };
  }
}
