import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiParam, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { SERVICE_ID_PATTERN } from '@aiplane/contracts';
import { DataPlaneErrorDto, ErrorBodyDto } from '@aiplane/http-api';

const ERROR_MEANINGS: Readonly<Record<number, string>> = {
  400: 'Invalid path parameter, query parameter or body (unknown fields are rejected); the message says which',
  404: 'No such service, group, recipe, collection or model',
  409: 'Already exists',
  413: 'The body is larger than the route allows (1 MiB; 32 MiB for vector upserts and the Qdrant pass-through), refused before it is read',
  421: 'The Host header names neither localhost, 127.0.0.1, [::1] nor a name in GATEWAY_ALLOWED_HOSTS (DNS rebinding), or is missing',
  422: 'The Idempotency-Key was already used for a create with a different body',
  429: 'A quota of the deployment is reached (services, GPUs, node jobs or creates per minute); see Retry-After and the message',
  502: 'The orchestrator, the workload or the Hugging Face Hub answered with an error',
  503: 'The orchestrator is unreachable (SSH tunnel down, orchestrator stopped), its record store refuses writes (see Retry-After), or the service is not ready',
  504: 'The orchestrator did not start answering within UPSTREAM_TIMEOUT_MS',
};

/** Every forwarded route can meet an unreachable or silent orchestrator, and the Host check. */
const DEFAULT_ERRORS = [421, 503, 504];

/** Control-plane errors: every one is `{statusCode, error, message}`. */
export function ApiErrors(...statuses: number[]): MethodDecorator & ClassDecorator {
  const all = [...new Set([...DEFAULT_ERRORS, ...statuses])].sort((a, b) => a - b);
  return applyDecorators(
    ...all.map((status) =>
      ApiResponse({ status, description: ERROR_MEANINGS[status] ?? 'Error', type: ErrorBodyDto }),
    ),
  );
}

/**
 * Data-plane routes (prompts, vector DB) keep the `{success:false, error, message}` envelope for
 * errors the orchestrator reports; errors the gateway raises itself are plain error bodies.
 */
export function ApiDataPlaneErrors(...statuses: number[]): MethodDecorator & ClassDecorator {
  const upstream = [...new Set([404, 502, 503, ...statuses])].sort((a, b) => a - b);
  return applyDecorators(
    ApiExtraModels(DataPlaneErrorDto, ErrorBodyDto),
    ...[400, 413, 421, 504].map((status) =>
      ApiResponse({ status, description: ERROR_MEANINGS[status] ?? 'Error', type: ErrorBodyDto }),
    ),
    ...upstream.map((status) =>
      ApiResponse({
        status,
        description: ERROR_MEANINGS[status] ?? 'Error',
        schema: {
          oneOf: [{ $ref: getSchemaPath(DataPlaneErrorDto) }, { $ref: getSchemaPath(ErrorBodyDto) }],
        },
      }),
    ),
  );
}

export function ApiServiceIdParam(name = 'id'): MethodDecorator & ClassDecorator {
  return ApiParam({
    name,
    description: 'Service id (the scheduler job id) or group id (`sg-<job id>`)',
    schema: { type: 'string', pattern: SERVICE_ID_PATTERN.source, example: '3652098' },
  });
}

export function ApiNameParam(name: string, description: string, example: string): MethodDecorator {
  return ApiParam({
    name,
    description,
    schema: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,128}$', example },
  });
}

/** Prometheus exposition text, passed through from the workload with service labels added. */
export function ApiPrometheusText(what: string): MethodDecorator {
  return applyDecorators(
    ApiResponse({
      status: 200,
      description: `Prometheus text format of ${what}, with \`service_id\` and \`replica_id\` labels`,
      content: {
        'text/plain': {
          schema: { type: 'string' },
          example:
            '# HELP vllm:num_requests_running Number of requests currently running\n' +
            '# TYPE vllm:num_requests_running gauge\n' +
            'vllm:num_requests_running{service_id="3652098",replica_id="3652098:8001"} 0\n',
        },
      },
    }),
  );
}
