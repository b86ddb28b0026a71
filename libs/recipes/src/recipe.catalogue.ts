import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { RecipeError } from './recipe.errors';
import { parseRecipe, type Recipe } from './recipe.schema';

export interface RecipeLoadError {
  /** Path below the recipe directory (`inference/broken.yaml`), or the directory itself when unreadable. */
  file: string;
  message: string;
}

/**
 * The recipes a process knows, keyed by canonical path (`inference/vllm-single-node`).
 * A bare name resolves only when exactly one category holds it: with two `foo` recipes,
 * `resolve('foo')` is undefined and callers must ask for `category/foo`.
 */
export class RecipeCatalogue {
  private readonly byPath: ReadonlyMap<string, Recipe>;

  constructor(recipes: Iterable<Recipe>) {
    const byPath = new Map<string, Recipe>();
    for (const recipe of [...recipes].sort((a, b) => compare(a.path, b.path))) {
      if (byPath.has(recipe.path)) throw new Error(`recipe ${recipe.path} is in the catalogue twice`);
      byPath.set(recipe.path, recipe);
    }
    this.byPath = byPath;
  }

  /** Every recipe, ordered by path. */
  list(): Recipe[] {
    return [...this.byPath.values()];
  }

  paths(): string[] {
    return [...this.byPath.keys()];
  }

  resolve(nameOrPath: string): Recipe | undefined {
    if (nameOrPath.includes('/')) return this.byPath.get(nameOrPath);
    const matches = this.list().filter((recipe) => recipe.name === nameOrPath);
    return matches.length === 1 ? matches[0] : undefined;
  }
}

const isYaml = (file: string): boolean => file.endsWith('.yaml') || file.endsWith('.yml');

/**
 * Reads `<dir>/<category>/<name>.yaml`. A file that does not parse is reported and left out, so one
 * broken recipe does not take the others down. Synchronous: this runs once, at start-up.
 */
export function loadRecipeCatalogue(dir: string): { catalogue: RecipeCatalogue; errors: RecipeLoadError[] } {
  const recipes = new Map<string, Recipe>();
  const errors: RecipeLoadError[] = [];

  let top: string[];
  try {
    top = readdirSync(dir).sort(compare);
  } catch (error) {
    errors.push({ file: dir, message: `cannot read the recipe directory ${dir}: ${errorMessage(error)}` });
    return { catalogue: new RecipeCatalogue([]), errors };
  }

  for (const entry of top) {
    if (entry.startsWith('.')) continue;
    const entryPath = join(dir, entry);
    if (!isDirectory(entryPath)) {
      if (isYaml(entry)) {
        errors.push({
          file: entry,
          message: `${entry}: recipes live in a category folder: <category>/<name>.yaml`,
        });
      }
      continue;
    }
    let files: string[];
    try {
      files = readdirSync(entryPath).sort(compare);
    } catch (error) {
      errors.push({
        file: entry,
        message: `${entry}: cannot read the category folder: ${errorMessage(error)}`,
      });
      continue;
    }
    for (const file of files) {
      if (file.startsWith('.') || !isYaml(file)) continue;
      const relPath = `${entry}/${file}`;
      try {
        const recipe = parseRecipe(readFileSync(join(entryPath, file), 'utf8'), relPath);
        if (recipes.has(recipe.path)) {
          errors.push({ file: relPath, message: `${relPath}: another file already defines ${recipe.path}` });
          continue;
        }
        recipes.set(recipe.path, recipe);
      } catch (error) {
        const message = error instanceof RecipeError ? error.message : `${relPath}: ${errorMessage(error)}`;
        errors.push({ file: relPath, message });
      }
    }
  }
  return { catalogue: new RecipeCatalogue(recipes.values()), errors };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

// Duck-typed: fs errors may come from another realm (vm contexts, test runners) than this Error.
function errorMessage(error: unknown): string {
  if (
    typeof error === 'object' &&
    error !== null &&
    'message' in error &&
    typeof error.message === 'string'
  ) {
    return error.message;
  }
  return String(error);
}

// Locale-independent, so the order is the same on every machine.
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** What start-up reporting needs of a logger; pino's fits. */
export interface CatalogueLogger {
  error(fields: object, message: string): void;
  info(fields: object, message: string): void;
}

/**
 * The catalogue an app starts with: a broken recipe is reported loudly at start-up rather than
 * silently missing later.
 */
export function loadReportedRecipeCatalogue(dir: string, logger: CatalogueLogger): RecipeCatalogue {
  const { catalogue, errors } = loadRecipeCatalogue(dir);
  for (const error of errors) logger.error({ file: error.file }, `invalid recipe: ${error.message}`);
  logger.info({ recipes: catalogue.paths() }, 'recipe catalogue loaded');
  return catalogue;
}
