import { applyDecorators, Controller, Delete, Get, Patch, Post, Put } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiDataPlaneErrors, ApiServiceIdParam } from '../common/api-docs';
import { QDRANT_EXAMPLES, QDRANT_RESPONSE } from '../openai/openai.examples';

const NEVER_REACHED = 'served by the pass-through before Nest; this handler only documents the route';

function QdrantRoute(summary: string, withBody: boolean): MethodDecorator {
  return applyDecorators(
    ApiOperation({
      summary,
      description:
        "Qdrant's own REST API, passed through unchanged with the service's key added (no client key is " +
        'forwarded): point an official Qdrant client at `http://127.0.0.1:8001/api/v1/vector-db/{id}/qdrant`. ' +
        "Qdrant's answers and errors come back as Qdrant wrote them; bodies up to 32 MiB.",
    }),
    ApiParam({
      name: 'path',
      description: 'Any Qdrant REST path, slashes included, e.g. `collections/docs/points/search`',
      schema: { type: 'string', example: 'collections' },
    }),
    ...(withBody
      ? [
          ApiBody({
            schema: { type: 'object', description: "Qdrant's own request body" },
            examples: QDRANT_EXAMPLES,
          }),
        ]
      : []),
    ApiOkResponse({ description: "Qdrant's answer", schema: { type: 'object' }, example: QDRANT_RESPONSE }),
    ApiDataPlaneErrors(413),
  );
}

/*
 * Why these handlers never run: `/api/v1/vector-db/{id}/qdrant/...` is a data-plane pass-through
 * (matchPassThrough in @aiplane/contracts), streamed to the proxy from the HTTP server's request
 * event before Nest sees it. They are registered only so that Swagger documents the prefix.
 */
@ApiTags('vector-db')
@ApiServiceIdParam()
@Controller('vector-db/:id/qdrant')
export class QdrantController {
  @Get(':path')
  @QdrantRoute("Qdrant's REST API: GET (list or read collections, points, cluster info)", false)
  get(): never {
    throw new Error(NEVER_REACHED);
  }

  @Put(':path')
  @QdrantRoute("Qdrant's REST API: PUT (create collections, upsert points)", true)
  put(): never {
    throw new Error(NEVER_REACHED);
  }

  @Post(':path')
  @QdrantRoute("Qdrant's REST API: POST (search, scroll, recommend, delete points)", true)
  post(): never {
    throw new Error(NEVER_REACHED);
  }

  @Patch(':path')
  @QdrantRoute("Qdrant's REST API: PATCH (update collection parameters)", true)
  patch(): never {
    throw new Error(NEVER_REACHED);
  }

  @Delete(':path')
  @QdrantRoute("Qdrant's REST API: DELETE (drop a collection)", false)
  delete(): never {
    throw new Error(NEVER_REACHED);
  }
}
