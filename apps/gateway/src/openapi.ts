import type { INestApplication } from '@nestjs/common';
import { GATEWAY_PREFIX } from '@aiplane/contracts';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject, type OperationObject } from '@nestjs/swagger';

export const API_PREFIX = GATEWAY_PREFIX.slice(1);
export const DOCS_PATH = 'docs';

const DESCRIPTION = `Run AI services (vLLM, Qdrant) as SLURM jobs on an HPC cluster and use them from your own machine.

**Two access patterns**

1. **External access (typical)**: \`Client → Gateway (localhost:8001) → SSH → Orchestrator → SLURM\`.
   Use it when your code runs on your laptop or workstation. The gateway (this API) forwards every call to the
   orchestrator on the cluster over one persistent SSH connection; no port is opened on the cluster.
2. **Internal access (advanced)**: \`Client → Orchestrator (orchestrator:8000)\` directly, for code running on the
   cluster itself (e.g. in a compute job). Same operations, orchestrator paths under \`/api\`:
   \`POST /api/v1/services\` → \`POST /api/services/start\`, \`DELETE /api/v1/services/{id}\` →
   \`POST /api/services/stop/{id}\`, \`POST /api/v1/vllm/{id}/prompt\` → \`POST /api/services/vllm/{id}/prompt\`,
   everything else keeps its path with \`/api\` for \`/api/v1\` and \`/services/vllm\`, \`/services/vector-db\`
   for \`/vllm\`, \`/vector-db\`.

Errors are \`{statusCode, error, message}\`; prompt and vector-db errors reported by the service keep the
\`{success: false, error, message}\` envelope. 503 means the orchestrator (or the service) cannot answer now.`;

/** The OpenAPI document of an app whose routes and global prefix are already set up. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('aiplane gateway')
    .setDescription(DESCRIPTION)
    .setVersion('1.0.0')
    .setLicense('Apache-2.0', 'https://www.apache.org/licenses/LICENSE-2.0')
    .addServer('http://127.0.0.1:8001', 'The gateway on your machine')
    .addTag('services', 'Start, inspect and stop services (SLURM jobs)')
    .addTag('service-groups', 'Replica groups: several vLLM replicas behind one id')
    .addTag('vllm', 'Prompts, models and metrics of vLLM services; Hugging Face model search')
    .addTag('vector-db', 'Collections and points of Qdrant services')
    .addTag('recipes', 'What can be started')
    .addTag('health', "The gateway's own health, outside /api/v1")
    .addGlobalParameters({
      name: 'x-request-id',
      in: 'header',
      required: false,
      description:
        'Optional id (^[A-Za-z0-9._:-]{1,128}$) carried to every hop and echoed back; one is made if absent',
      schema: { type: 'string' },
    })
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (controllerKey: string, methodKey: string) =>
      `${controllerKey.replace(/Controller$/, '')}_${methodKey}`,
  });
  // Success responses declared by type alone come out with an empty description; give them the reason phrase.
  for (const operations of Object.values(document.paths)) {
    for (const operation of Object.values(operations as Record<string, OperationObject | undefined>)) {
      for (const [status, response] of Object.entries(operation?.responses ?? {})) {
        if (response && 'description' in response && !response.description) {
          response.description = REASON_PHRASES[status] ?? 'Success';
        }
      }
    }
  }
  return document;
}

const REASON_PHRASES: Readonly<Record<string, string>> = { '200': 'OK', '201': 'Created' };

/** Swagger UI at /docs and the JSON document at /docs-json. */
export function serveOpenApiDocs(app: INestApplication, document: OpenAPIObject): void {
  SwaggerModule.setup(DOCS_PATH, app, document, {
    jsonDocumentUrl: `${DOCS_PATH}-json`,
    yamlDocumentUrl: `${DOCS_PATH}-yaml`,
  });
}
