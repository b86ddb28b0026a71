export {
  renderBatchScript,
  replicasPerNode,
  toSlurmTime,
  type RenderInput,
  type RenderProfile,
} from './batch-script.render';
export {
  BASE_PORT_SHORTCUT,
  ENVIRONMENT_SHORTCUTS,
  RESOURCE_SHORTCUTS,
  mergeConfig,
  type ConfigShortcutsInput,
  type EffectiveConfig,
  type EffectiveResources,
  type ServiceConfigInput,
} from './config.merge';
export {
  RecipeCatalogue,
  loadRecipeCatalogue,
  loadReportedRecipeCatalogue,
  type CatalogueLogger,
  type RecipeLoadError,
} from './recipe.catalogue';
export { ConfigError, RecipeError, RenderError } from './recipe.errors';
export { API_KEY_VARIABLE, REPLICA_KEYS_VARIABLE, type RecipeKind } from './recipe.rules';
export {
  parseRecipe,
  type Recipe,
  type RecipeDefinition,
  type RecipeParameter,
  type RecipeResources,
} from './recipe.schema';
export { shellQuote } from './shell-quote.util';
