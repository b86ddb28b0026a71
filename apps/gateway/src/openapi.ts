import type { INestApplication } from '@nestjs/common';
import { GATEWAY_PREFIX, OVERHEAD_HEADER } from '@aiplane/contracts';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject, type OperationObject } from '@nestjs/swagger';

export const API_PREFIX = GATEWAY_PREFIX.slice(1);
export const DOCS_PATH = 'docs';

const DESCRIPTION = `Run AI services (vLLM, Qdrant) as SLURM jobs on an HPC cluster and use them from your own machine.

**Two access patterns**

1. **External access (typical)**: this gateway on \`localhost:8001\`, over one persistent SSH connection (or plain
   HTTP) to the cluster. Control-plane calls (start, status, logs, stop) go to the orchestrator
   (\`Client → Gateway → SSH → Orchestrator → SLURM\`); data-plane calls (OpenAI routes, prompts, vector-db, the Qdrant
   pass-through, metrics) are streamed straight to the data-plane proxy in a channel of the same connection
   (\`Client → Gateway → SSH → Proxy → job\`), never parsed on the way. No port is opened on the cluster.
2. **Internal access (advanced)**: \`Client → Orchestrator (orchestrator:8000)\` directly, for code running on the
   cluster itself (e.g. in a compute job), with the deployment's bearer token. Same operations, orchestrator paths
   under \`/api\`: \`POST /api/v1/services\` → \`POST /api/services/start\`, \`DELETE /api/v1/services/{id}\` →
   \`POST /api/services/stop/{id}\`, \`POST /api/v1/vllm/{id}/prompt\` → \`POST /api/services/vllm/{id}/prompt\`,
   everything else keeps its path with \`/api\` for \`/api/v1\` and \`/services/vllm\`, \`/services/vector-db\`
   for \`/vllm\`, \`/vector-db\`; the root \`/v1\` routes keep their paths.

**OpenAI-compatible**: point any OpenAI client at \`http://127.0.0.1:8001/v1\` (any or no API key); requests are
routed by \`model\`, \`stream: true\` answers server-sent events flushed chunk by chunk.

Errors are \`{statusCode, error, message}\`; prompt and vector-db errors reported by the service keep the
\`{success: false, error, message}\` envelope; \`/v1\` routes answer OpenAI's \`{error: {message, type, code}}\`.
503 means the orchestrator, the proxy (or the service) cannot answer now. Every answer carries
\`${OVERHEAD_HEADER}\`: the time spent in the control plane, excluding the workload.`;

const OVERHEAD_REF = '#/components/headers/Overhead';
const OVERHEAD_DOC = {
  description:
    'Milliseconds (one decimal) this answer spent in the control plane, excluding the workload; on every answer',
  schema: { type: 'string', example: '0.8' },
};

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
    .addTag(
      'openai',
      "OpenAI's API, at the root (routed by model) and per service; streamed with `stream: true`",
    )
    .addTag('vllm', 'Prompts, models and metrics of vLLM services; Hugging Face model search')
    .addTag(
      'vector-db',
      "Collections and points of Qdrant services, and Qdrant's own REST API passed through",
    )
    .addTag('recipes', 'What can be started')
    .addTag('health', "The gateway's own health, outside /api/v1")
    .addTag('metrics', "The control plane's own Prometheus metrics, one app at a time")
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
  // Success responses declared by type alone come out with an empty description; give them the
  // reason phrase. Every answer, error or not, carries the overhead header.
  for (const operations of Object.values(document.paths)) {
    for (const operation of Object.values(operations as Record<string, OperationObject | undefined>)) {
      for (const [status, response] of Object.entries(operation?.responses ?? {})) {
        if (response && 'description' in response && !response.description) {
          response.description = REASON_PHRASES[status] ?? 'Success';
        }
        if (response && 'description' in response) {
          response.headers = { ...response.headers, [OVERHEAD_HEADER]: { $ref: OVERHEAD_REF } };
        }
      }
    }
  }
  document.components = {
    ...document.components,
    headers: { ...document.components?.headers, Overhead: OVERHEAD_DOC },
  };
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
