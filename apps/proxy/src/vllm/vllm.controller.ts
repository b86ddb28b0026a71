import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { servedPath, type PromptResponse } from '@aiplane/contracts';
import { PromptDto } from '@aiplane/http-api';
import { ServiceIdPipe } from '@aiplane/server-kit';
import { VllmService } from './vllm.service';

@Controller()
export class VllmController {
  constructor(private readonly vllm: VllmService) {}

  @Post(servedPath('vllm.prompt', 'proxy'))
  @HttpCode(200)
  prompt(@Param('id', ServiceIdPipe) id: string, @Body() body: PromptDto): Promise<PromptResponse> {
    return this.vllm.prompt(id, body);
  }

  @Get(servedPath('vllm.models', 'proxy'))
  models(@Param('id', ServiceIdPipe) id: string): ReturnType<VllmService['models']> {
    return this.vllm.models(id);
  }
}
