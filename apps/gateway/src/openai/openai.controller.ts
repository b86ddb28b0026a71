import { applyDecorators, Controller, Get, Post } from '@nestjs/common';
import {
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiResponse,
  ApiTags,
  type ExamplesObject,
} from '@nestjs/swagger';
import type { ContentObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { ApiServiceIdParam } from '../common/api-docs';
import {
  CHAT_EXAMPLES,
  CHAT_RESPONSE,
  COMPLETION_EXAMPLES,
  COMPLETION_RESPONSE,
  EMBEDDING_EXAMPLES,
  EMBEDDING_RESPONSE,
  MODEL_LIST_EXAMPLE,
  OPENAI_BODY_SCHEMA,
  OPENAI_ERROR_SCHEMA,
  OPENAI_ERRORS,
} from './openai.examples';

/** The root `/v1` paths, outside the gateway's `/api/v1` prefix. */
export const OPENAI_ROOT_PATHS = ['v1/models', 'v1/chat/completions', 'v1/completions', 'v1/embeddings'];

function OpenAiErrors(): MethodDecorator {
  return applyDecorators(
    ...OPENAI_ERRORS.map(([status, description, type, code]) =>
      ApiResponse({
        status,
        description,
        schema: OPENAI_ERROR_SCHEMA,
        example: { error: { message: description, type, code } },
      }),
    ),
  );
}

function Documented(
  summary: string,
  answer: { content: ContentObject } | { example: unknown },
  examples?: ExamplesObject,
): MethodDecorator {
  return applyDecorators(
    ApiOperation({ summary }),
    ...(examples === undefined ? [] : [ApiBody({ schema: OPENAI_BODY_SCHEMA, examples })]),
    'content' in answer
      ? ApiOkResponse({ description: 'OK', content: answer.content })
      : ApiOkResponse({ description: 'OK', schema: { type: 'object' }, example: answer.example }),
    OpenAiErrors(),
  );
}

const NEVER_REACHED = 'served by the pass-through before Nest; this handler only documents the route';

/*
 * Why these handlers never run: every path below is a data-plane pass-through (matchPassThrough in
 * @aiplane/contracts), which createGatewayApp installs on the HTTP server's request event, in front
 * of Nest, and streams to the proxy without parsing it. Nest registers them only so that Swagger
 * documents them from decorators like every other route; routes.served.spec.ts proves that no
 * request of theirs reaches Nest.
 */

/** OpenAI's API at the gateway's root: an OpenAI client uses `base_url = http://127.0.0.1:8001/v1`. */
@ApiTags('openai')
@Controller()
export class OpenAiController {
  @Get('v1/models')
  @Documented('Models of every service, queued and loading ones included', { example: MODEL_LIST_EXAMPLE })
  listModels(): never {
    throw new Error(NEVER_REACHED);
  }

  @Post('v1/chat/completions')
  @Documented('Chat, routed by `model` to a ready replica', { content: CHAT_RESPONSE }, CHAT_EXAMPLES)
  chat(): never {
    throw new Error(NEVER_REACHED);
  }

  @Post('v1/completions')
  @Documented('Text completion, routed by `model`', { content: COMPLETION_RESPONSE }, COMPLETION_EXAMPLES)
  complete(): never {
    throw new Error(NEVER_REACHED);
  }

  @Post('v1/embeddings')
  @Documented(
    'Embeddings from an embedding model, routed by `model`',
    { example: EMBEDDING_RESPONSE },
    EMBEDDING_EXAMPLES,
  )
  embed(): never {
    throw new Error(NEVER_REACHED);
  }
}

/** The same, pinned to one service or replica group (under `/api/v1`). */
@ApiTags('openai')
@ApiServiceIdParam()
@Controller('vllm/:id/v1')
export class ServiceOpenAiController {
  @Get('models')
  @Documented("The models this service's workload serves (vLLM's own list)", {
    example: {
      object: 'list',
      data: [{ id: 'Qwen/Qwen2.5-7B-Instruct', object: 'model', owned_by: 'vllm' }],
    },
  })
  listModels(): never {
    throw new Error(NEVER_REACHED);
  }

  @Post('chat/completions')
  @Documented('Chat with this service or group', { content: CHAT_RESPONSE }, CHAT_EXAMPLES)
  chat(): never {
    throw new Error(NEVER_REACHED);
  }

  @Post('completions')
  @Documented(
    'Text completion on this service or group',
    { content: COMPLETION_RESPONSE },
    COMPLETION_EXAMPLES,
  )
  complete(): never {
    throw new Error(NEVER_REACHED);
  }

  @Post('embeddings')
  @Documented('Embeddings from this service or group', { example: EMBEDDING_RESPONSE }, EMBEDDING_EXAMPLES)
  embed(): never {
    throw new Error(NEVER_REACHED);
  }
}
