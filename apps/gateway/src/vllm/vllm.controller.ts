import { ApiOkResponse } from '@nestjs/swagger';
import {
  AvailableModelsDto,
  ModelInfoDto,
  ModelSearchDto,
  PromptResponseDto,
  VllmModelsDto,
  VllmServicesDto,
} from '@aiplane/http-api';
import { ApiPrometheusText } from '../common/api-docs';
import { PROMPT_RESPONSE_EXAMPLES } from '../common/doc-examples';
import { gatewayController } from '../common/route-forwarder';

// vllm.models, vllm.prompt and vllm.metrics are served by the pass-through before Nest (see
// RouteForwarder); they are declared here for the API document, which keeps their bodies and examples.
export const VllmController = gatewayController('VllmController', 'vllm', {
  'vllm.services': [ApiOkResponse({ type: VllmServicesDto })],
  'vllm.availableModels': [ApiOkResponse({ type: AvailableModelsDto })],
  'vllm.searchModels': [ApiOkResponse({ type: ModelSearchDto })],
  'vllm.modelInfo': [ApiOkResponse({ type: ModelInfoDto })],
  'vllm.models': [ApiOkResponse({ type: VllmModelsDto })],
  'vllm.prompt': [ApiOkResponse({ type: PromptResponseDto, examples: PROMPT_RESPONSE_EXAMPLES })],
  'vllm.metrics': [ApiPrometheusText('vLLM')],
});
