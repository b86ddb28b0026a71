import { Inject, Injectable } from '@nestjs/common';
import { VECTOR_BODY_LIMIT, type PassThrough } from '@aiplane/contracts';
import { BadRequestError, BodyLimit, type Logger } from '@aiplane/server-kit';
import { LOGGER, UPSTREAM } from '../platform/platform.module';
import { WorkloadCaller } from '../routing/workload.caller';
import { WorkloadResolver } from '../routing/workload.resolver';
import { UpstreamClient, type StreamedResponse } from '../upstream/upstream.client';
import { AllReplicasFailedError } from '../vllm/vllm.service';
import {
  BodyTooLargeError,
  declaredTooLarge,
  forwardedHeaders,
  hasBody,
  type Exchange,
} from './exchange.rules';
import { relayAnswer } from './workload.relay';

/**
 * Qdrant's own REST API, passed through: `/api/services/vector-db/{id}/qdrant/<rest>` goes to that
 * service's Qdrant at exactly `<endpoint><rest>?<query>` with the service's key, the body streamed
 * (never parsed) within 32 MiB, and Qdrant's answer (errors included) comes back as it is.
 */
@Injectable()
export class QdrantForwarder {
  constructor(
    private readonly resolver: WorkloadResolver,
    private readonly caller: WorkloadCaller,
    @Inject(UPSTREAM) private readonly upstream: UpstreamClient,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async handle(ex: Exchange, match: PassThrough): Promise<void> {
    const id = match.serviceId ?? '';
    const marker = `/vector-db/${id}/qdrant`;
    const tail = match.proxyPath.slice(match.proxyPath.indexOf(marker) + marker.length);
    const queryAt = tail.indexOf('?');
    const rest = queryAt < 0 ? tail : tail.slice(0, queryAt);
    const query = queryAt < 0 ? '' : tail.slice(queryAt);
    const problem = qdrantPathProblem(rest);
    if (problem !== undefined) throw new BadRequestError(problem);
    if (declaredTooLarge(ex.req, VECTOR_BODY_LIMIT)) throw new BodyTooLargeError(VECTOR_BODY_LIMIT);
    const candidates = await this.resolver.candidates(id, 'qdrant');
    const method = ex.req.method ?? 'GET';
    const headers = forwardedHeaders(ex.req);
    // A declared length goes on (the stream is held to it); without one, the body goes chunked.
    if (ex.req.headers['content-length'] !== undefined)
      headers['content-length'] = ex.req.headers['content-length'];
    // A streamed body cannot be sent twice: only the rotation's first replica is tried.
    const [first] = candidates;
    const streamed = await this.caller.call(
      first ? [first] : [],
      (workload): Promise<StreamedResponse> => {
        const body = hasBody(ex.req)
          ? ex.req.pipe(new BodyLimit(VECTOR_BODY_LIMIT, (limit) => new BodyTooLargeError(limit)))
          : undefined;
        const path = `${basePath(workload.endpoint)}${rest || '/'}${query}`;
        return this.upstream.stream(workload, {
          method,
          path,
          headers,
          body,
          context: { requestId: ex.requestId },
        });
      },
      (attempted, reason) =>
        new AllReplicasFailedError(`Vector DB service ${id} could not be reached: ${reason}`, attempted),
    );
    relayAnswer(ex, streamed, this.logger);
  }
}

/**
 * Why `rest` could leave the Qdrant API's own tree (or be read differently by another parser), or
 * undefined. The host never comes from the path, but a path that walks up could still reach the
 * workload's other routes.
 */
export function qdrantPathProblem(rest: string): string | undefined {
  if (rest.includes('\\')) return 'The Qdrant path must not contain a backslash';
  if (/%(2f|5c)/i.test(rest)) return 'The Qdrant path must not contain an encoded slash or backslash';
  if (rest.includes('//')) return 'The Qdrant path must not contain an empty segment (//)';
  for (const segment of rest.split('/').slice(1)) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return `The Qdrant path has a malformed percent-encoding in "${segment.slice(0, 64)}"`;
    }
    if (decoded === '.' || decoded === '..') return 'The Qdrant path must not contain "." or ".." segments';
  }
  return undefined;
}

function basePath(endpoint: string): string {
  const path = new URL(endpoint).pathname;
  return path.endsWith('/') ? path.slice(0, -1) : path;
}
