import { Controller, Get, Param, Query } from '@nestjs/common';
import { servedPath } from '@aiplane/contracts';
import { type ModelSearchDto } from '@aiplane/http-api';
import type { AvailableModels } from './architectures';
import { ModelsService, type ModelInfo } from './models.service';

/**
 * Hugging Face model search for choosing a VLLM_MODEL. Mounted on services/vllm beside the
 * per-service routes (services/vllm/:id/...), so its module must be imported before those
 * controllers for its literal paths to be matched first.
 */
@Controller()
export class ModelsController {
  constructor(private readonly models: ModelsService) {}

  @Get(servedPath('vllm.availableModels', 'orchestrator'))
  availableModels(): AvailableModels {
    return this.models.availableModels();
  }

  // Parameters are typed unknown: a repeated key arrives as an array and is refused by the service.
  @Get(servedPath('vllm.searchModels', 'orchestrator'))
  search(
    @Query('query') query: unknown,
    @Query('limit') limit: unknown,
    @Query('architecture') architecture: unknown,
    @Query('sort_by') sortBy: unknown,
  ): Promise<ModelSearchDto> {
    return this.models.search({ query, limit, architecture, sort_by: sortBy });
  }

  @Get(servedPath('vllm.modelInfo', 'orchestrator'))
  modelInfo(@Param('org') org: string, @Param('name') name: string): Promise<ModelInfo> {
    return this.models.modelInfo(org, name);
  }

  /** Models published without an owner, as the document's VLLM_MODEL example `gpt2`. */
  @Get(servedPath('vllm.canonicalModelInfo', 'orchestrator'))
  canonicalModelInfo(@Param('name') name: string): Promise<ModelInfo> {
    return this.models.modelInfo(undefined, name);
  }
}
