import { ApiOkResponse } from '@nestjs/swagger';
import { RecipeDetailDto, RecipeSummaryDto } from '@aiplane/http-api';
import { gatewayController } from '../common/route-forwarder';

export const RecipesController = gatewayController('RecipesController', 'recipes', {
  'recipes.list': [ApiOkResponse({ type: RecipeSummaryDto, isArray: true })],
  'recipes.get': [ApiOkResponse({ type: RecipeDetailDto })],
  'recipes.getInCategory': [ApiOkResponse({ type: RecipeDetailDto })],
});
