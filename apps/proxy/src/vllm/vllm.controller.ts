import { Controller, Get, Param } from '@nestjs/common';
import { servedPath } from '@aiplane/contracts';
import { ServiceIdPipe } from '@aiplane/server-kit';
import { VllmService } from './vllm.service';

@Controller()
export class VllmController {
  constructor(private readonly vllm: VllmService) {}

  // The prompt route is served by the raw data plane (data-plane/prompt.forwarder.ts), not here.

  @Get(servedPath('vllm.models', 'proxy'))
  models(@Param('id', ServiceIdPipe) id: string): ReturnType<VllmService['models']> {
    return this.vllm.models(id);
  }
}
