import { Inject, Injectable } from '@nestjs/common';
import {
  DEFAULT_DISTANCE,
  DEFAULT_SEARCH_LIMIT,
  RESERVED_PAYLOAD_KEY,
  type Distance,
} from '@aiplane/contracts';
import { type CreateCollectionDto, type SearchPointsDto, type UpsertPointsDto } from '@aiplane/http-api';
import { AppError, BadRequestError, ConflictError, NotFoundError, UpstreamError } from '@aiplane/server-kit';
import { UPSTREAM } from '../platform/platform.module';
import { WorkloadResolver, type ResolvedWorkload } from '../routing/workload.resolver';
import { WorkloadCaller } from '../routing/workload.caller';
import { UpstreamClient, type UpstreamResponse } from '../upstream/upstream.client';
import { fromQdrantPoint, toQdrantId, toQdrantPayload, type UserPointId } from './point-id';

/** Mismatched vectors named in one 400; a batch of thousands would otherwise make an unreadable message. */
const MAX_REPORTED_MISMATCHES = 5;

export interface CollectionsResponse {
  success: true;
  collections: string[];
  service_id: string;
}

export interface CollectionInfoResponse {
  success: true;
  collection_info: Record<string, unknown>;
  service_id: string;
  collection_name: string;
}

export interface CollectionAck {
  success: true;
  message: string;
  service_id: string;
  collection_name: string;
}

export interface CreateCollectionResponse extends CollectionAck {
  vector_size: number;
  distance: Distance;
}

export interface UpsertResponse extends CollectionAck {
  upserted: number;
  operation_id: number | null;
}

export interface SearchHit {
  id: UserPointId;
  score: number;
  payload: Record<string, unknown> | null;
}

/** Exactly the keys CONTRACT.md (and the published SearchResultsDto) list. */
export interface SearchResponse {
  success: true;
  results: SearchHit[];
  result: SearchHit[];
  num_results: number;
}

/** The workload could not be reached; it was taken out of rotation until the prober sees it again. */
export class VectorDbUnreachableError extends AppError {
  readonly code = 'VECTOR_DB_UNREACHABLE';

  constructor(message: string, attempted: string[]) {
    super(503, 'Service Unavailable', message, { attempted_replicas: attempted });
  }
}

/** What a request was about, so Qdrant's terse errors can be turned into messages a user can act on. */
interface Subject {
  serviceId: string;
  collection?: string;
}

/** Speaks Qdrant's REST API for the contract's vector-db routes. */
@Injectable()
export class VectorDbService {
  constructor(
    private readonly resolver: WorkloadResolver,
    private readonly caller: WorkloadCaller,
    @Inject(UPSTREAM) private readonly upstream: UpstreamClient,
  ) {}

  async collections(id: string): Promise<CollectionsResponse> {
    return this.call(id, async (workload) => {
      const result = await this.qdrant(workload, { serviceId: id }, 'GET', '/collections');
      const listed = isRecord(result) && Array.isArray(result.collections) ? result.collections : [];
      const names = listed.flatMap((entry: unknown) =>
        isRecord(entry) && typeof entry.name === 'string' ? [entry.name] : [],
      );
      return { success: true, collections: names, service_id: id };
    });
  }

  async collection(id: string, name: string): Promise<CollectionInfoResponse> {
    return this.call(id, async (workload) => {
      const info = await this.collectionInfo(workload, { serviceId: id, collection: name });
      return { success: true, collection_info: info, service_id: id, collection_name: name };
    });
  }

  async createCollection(
    id: string,
    name: string,
    request: CreateCollectionDto,
  ): Promise<CreateCollectionResponse> {
    return this.call(id, async (workload) => {
      const distance = request.distance ?? DEFAULT_DISTANCE;
      // Qdrant answers 409 itself when the collection exists, so no look-up first (it would also race).
      await this.qdrant(workload, { serviceId: id, collection: name }, 'PUT', collectionPath(name), {
        vectors: { size: request.vector_size, distance },
      });
      return {
        success: true,
        message: `Collection '${name}' created`,
        service_id: id,
        collection_name: name,
        vector_size: request.vector_size,
        distance,
      };
    });
  }

  async deleteCollection(id: string, name: string): Promise<CollectionAck> {
    return this.call(id, async (workload) => {
      const subject = { serviceId: id, collection: name };
      // Qdrant answers 200 with `result: false` for a collection that was not there.
      const deleted = await this.qdrant(workload, subject, 'DELETE', collectionPath(name));
      if (deleted !== true) throw collectionNotFound(subject);
      return {
        success: true,
        message: `Collection '${name}' deleted`,
        service_id: id,
        collection_name: name,
      };
    });
  }

  async upsert(id: string, name: string, request: UpsertPointsDto): Promise<UpsertResponse> {
    return this.call(id, async (workload) => {
      const subject = { serviceId: id, collection: name };
      // Checked here so the 400 names the offending points rather than Qdrant's first mismatch only.
      const size = vectorSizeOf(await this.collectionInfo(workload, subject));
      if (size !== undefined) assertVectorSizes(request, size, name);
      const result = await this.qdrant(workload, subject, 'PUT', `${collectionPath(name)}/points?wait=true`, {
        points: request.points.map((point) => ({
          id: toQdrantId(point.id),
          vector: point.vector,
          payload: toQdrantPayload(point.id, point.payload),
        })),
      });
      const operationId =
        isRecord(result) && typeof result.operation_id === 'number' ? result.operation_id : null;
      const count = request.points.length;
      return {
        success: true,
        message: `Upserted ${count} point${count === 1 ? '' : 's'} into collection '${name}'`,
        service_id: id,
        collection_name: name,
        upserted: count,
        operation_id: operationId,
      };
    });
  }

  async search(id: string, name: string, request: SearchPointsDto): Promise<SearchResponse> {
    return this.call(id, async (workload) => {
      const withPayload = request.with_payload ?? true;
      const body: Record<string, unknown> = {
        vector: request.query_vector,
        limit: request.limit ?? DEFAULT_SEARCH_LIMIT,
        // Without a payload the original string ids could not be given back, so the reserved key is always asked for.
        with_payload: withPayload ? true : { include: [RESERVED_PAYLOAD_KEY] },
      };
      if (request.filter !== undefined) body.filter = request.filter;
      const result = await this.qdrant(
        workload,
        { serviceId: id, collection: name },
        'POST',
        `${collectionPath(name)}/points/search`,
        body,
      );
      if (!Array.isArray(result))
        throw new UpstreamError('The vector database answered a search without a result list');
      const hits = result.map((hit: unknown) => toSearchHit(hit, withPayload));
      return {
        success: true,
        results: hits,
        result: hits,
        num_results: hits.length,
      };
    });
  }

  private async collectionInfo(
    workload: ResolvedWorkload,
    subject: Subject,
  ): Promise<Record<string, unknown>> {
    const info = await this.qdrant(workload, subject, 'GET', collectionPath(subject.collection ?? ''));
    if (!isRecord(info)) throw new UpstreamError('The vector database answered without collection info');
    return info;
  }

  /** One Qdrant REST call: the `result` of its envelope, or its error as the contract's. */
  private async qdrant(
    workload: ResolvedWorkload,
    subject: Subject,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<unknown> {
    return parseQdrant(await this.upstream.request(workload, method, path, body), subject);
  }

  /** Calls the workload serving `id`; a refused connection marks it down at once (WorkloadCaller). */
  private async call<T>(id: string, run: (workload: ResolvedWorkload) => Promise<T>): Promise<T> {
    return this.caller.call(
      [await this.resolver.resolve(id, 'qdrant')],
      run,
      (attempted, reason) =>
        new VectorDbUnreachableError(
          `Vector DB service ${id} could not be reached (${reason}); it is marked not ready until it answers again`,
          attempted,
        ),
    );
  }
}

function collectionPath(name: string): string {
  return `/collections/${encodeURIComponent(name)}`;
}

function collectionNotFound(subject: Subject): NotFoundError {
  return new NotFoundError(
    `Collection '${subject.collection ?? ''}' not found in Vector DB service ${subject.serviceId}`,
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The size of the collection's single unnamed vector; undefined for named vectors, which Qdrant checks itself. */
export function vectorSizeOf(info: Record<string, unknown>): number | undefined {
  const config = info.config;
  const params = isRecord(config) ? config.params : undefined;
  const vectors = isRecord(params) ? params.vectors : undefined;
  return isRecord(vectors) && typeof vectors.size === 'number' ? vectors.size : undefined;
}

export function assertVectorSizes(request: UpsertPointsDto, size: number, collection: string): void {
  const wrong = request.points.flatMap((point, index) =>
    point.vector.length === size
      ? []
      : [`points[${index}] (id ${JSON.stringify(point.id)}) has ${point.vector.length}`],
  );
  if (wrong.length === 0) return;
  const shown = wrong.slice(0, MAX_REPORTED_MISMATCHES).join(', ');
  const more =
    wrong.length > MAX_REPORTED_MISMATCHES ? ` and ${wrong.length - MAX_REPORTED_MISMATCHES} more` : '';
  throw new BadRequestError(
    `Collection '${collection}' holds vectors of size ${size}, but ${shown}${more}; nothing was written`,
    { expected_vector_size: size },
  );
}

function toSearchHit(hit: unknown, withPayload: boolean): SearchHit {
  if (
    !isRecord(hit) ||
    (typeof hit.id !== 'number' && typeof hit.id !== 'string') ||
    typeof hit.score !== 'number'
  ) {
    throw new UpstreamError('The vector database answered a search with a malformed hit');
  }
  const point = fromQdrantPoint(hit.id, hit.payload);
  return { id: point.id, score: hit.score, payload: withPayload ? (point.payload ?? {}) : null };
}

/**
 * Qdrant's `{result, status, time}` envelope on success, `{status: {error}}` on failure. Its 4xx are the
 * client's to fix; 5xx and anything unreadable are the workload's failure (502).
 */
export function parseQdrant(response: UpstreamResponse, subject: Subject): unknown {
  const text = response.body.toString('utf8');
  if (response.status >= 400) {
    const message = qdrantMessage(text) ?? `HTTP ${response.status}`;
    if (response.status >= 500) throw new UpstreamError(`The vector database failed: ${message}`);
    // Qdrant before 1.8 said so with a 400.
    if (response.status === 409 || /collection .*already exists/i.test(message)) {
      throw new ConflictError(
        `Collection '${subject.collection ?? ''}' already exists in Vector DB service ${subject.serviceId}`,
      );
    }
    if (response.status === 404) {
      if (subject.collection !== undefined) throw collectionNotFound(subject);
      throw new NotFoundError(`The vector database found nothing there: ${message}`);
    }
    if (response.status === 401 || response.status === 403) {
      // The proxy sends the key the workload was started with, so this is the service's
      // configuration, not the user's request.
      throw new UpstreamError(`The vector database refused access (HTTP ${response.status}): ${message}`);
    }
    throw new BadRequestError(`The vector database rejected the request: ${message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch {
    throw new UpstreamError('The vector database answered with something that is not JSON');
  }
  if (!isRecord(parsed) || !('result' in parsed)) {
    throw new UpstreamError('The vector database answered without a result');
  }
  return parsed.result;
}

function qdrantMessage(text: string): string | undefined {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!isRecord(parsed)) return undefined;
    if (isRecord(parsed.status) && typeof parsed.status.error === 'string') return parsed.status.error;
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    return text.slice(0, 500) || undefined;
  }
  return undefined;
}
