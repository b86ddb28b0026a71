import { join } from 'node:path';

import { loadRecipeCatalogue } from '../recipe.catalogue';
import { ConfigError } from '../recipe.errors';
import type { Recipe } from '../recipe.schema';

// Shared by the lib's specs, and kept in __fixtures__ so the build (which skips the folder) never
// ships it. The specs run on the repository's own recipes, not on made-up ones.
export const { catalogue } = loadRecipeCatalogue(join(__dirname, '..', '..', '..', '..', 'recipes'));

export function recipe(name: string): Recipe {
  const found = catalogue.resolve(name);
  if (!found) throw new Error(`recipes/ has no recipe "${name}"`);
  return found;
}

export const singleNode = recipe('vllm-single-node');
export const replicas = recipe('vllm-replicas');
export const qdrant = recipe('qdrant');

/** The ConfigError that `run` throws; anything else it throws, or nothing, fails the spec. */
export function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}
