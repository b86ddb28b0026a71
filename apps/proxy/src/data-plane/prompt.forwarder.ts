import { Inject, Injectable } from '@nestjs/common';
import { OPENAI_BODY_LIMIT, type PassThrough, type PromptRequest } from '@aiplane/contracts';
import { plainPrompt, PromptDto } from '@aiplane/http-api';
import { BadRequestError, UnsupportedMediaTypeError, validationPipe, type Logger } from '@aiplane/server-kit';
import { LOGGER } from '../platform/platform.module';
import type { WorkloadTiming } from '../upstream/upstream.client';
import { VllmService } from '../vllm/vllm.service';
import { hasBody, isJsonContentType, readBody, sendJson, type Exchange } from './exchange.rules';
import { relayAnswer } from './workload.relay';

const PROMPT_ID = /^\/api\/services\/vllm\/([^/]+)\/prompt$/;

/**
 * The v1 prompt route off the Nest pipeline: the same checks and messages as the app's global
 * validation (it is the same pipe, called directly), the same envelope, and `stream: true`.
 */
@Injectable()
export class PromptForwarder {
  private readonly validation = validationPipe();

  constructor(
    private readonly vllm: VllmService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async handle(ex: Exchange, match: PassThrough): Promise<void> {
    const id = match.serviceId ?? PROMPT_ID.exec(match.proxyPath)?.[1] ?? '';
    const request = await this.readPrompt(ex);
    if (request.stream === true) {
      relayAnswer(ex, await this.vllm.promptStream(id, request, { requestId: ex.requestId }), this.logger);
      return;
    }
    // The answer is the proxy's own envelope around workload calls (a model look-up, chat, maybe
    // completions): their time, added up, is the workload's share of it.
    const timing: WorkloadTiming = { workloadMs: 0 };
    const answer = await this.vllm.prompt(id, request, { requestId: ex.requestId, timing });
    sendJson(ex, 200, answer, {}, timing.workloadMs);
  }

  private async readPrompt(ex: Exchange): Promise<PromptRequest> {
    let parsed: unknown = {};
    if (hasBody(ex.req)) {
      if (!isJsonContentType(ex.req)) {
        const sent = ex.req.headers['content-type'];
        throw new UnsupportedMediaTypeError(
          `Request bodies must be JSON sent with "Content-Type: application/json" (got ${sent === undefined ? 'no Content-Type' : JSON.stringify(sent.slice(0, 100))})`,
        );
      }
      const text = (await readBody(ex.req, OPENAI_BODY_LIMIT)).toString('utf8');
      try {
        parsed = JSON.parse(text) as unknown;
      } catch (error) {
        throw new BadRequestError(
          `Request body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      if (parsed === null || typeof parsed !== 'object') {
        throw new BadRequestError(
          `Request body must be a JSON object, got the bare JSON value ${JSON.stringify(text.trim().slice(0, 40))}`,
        );
      }
    }
    // The plain check serves the usual prompt; anything else gets the DTO's validation and wording.
    const plain = plainPrompt(parsed);
    if (plain !== undefined) return plain;
    return (await this.validation.transform(parsed, {
      type: 'body',
      metatype: PromptDto,
    })) as PromptDto;
  }
}
