import { RESERVED_PAYLOAD_KEY } from '@aiplane/contracts';
import { type SearchPointsDto, type UpsertPointsDto } from '@aiplane/http-api';
import type { ServiceRegistry } from '@aiplane/registry';
import { storedService } from '@aiplane/testing';
import { AppError, createLogger } from '@aiplane/server-kit';
import type { ResolvedWorkload, WorkloadResolver } from '../routing/workload.resolver';
import { WorkloadCaller } from '../routing/workload.caller';
import {
  UpstreamConnectError,
  UpstreamTimeoutError,
  type UpstreamClient,
  type UpstreamResponse,
} from '../upstream/upstream.client';
import { toQdrantId } from './point-id';
import { VectorDbService } from './vector-db.service';

interface Call {
  method: string;
  path: string;
  body: unknown;
}

type Reply = UpstreamResponse | Error;

function ok(result: unknown): UpstreamResponse {
  return json(200, { result, status: 'ok', time: 0.001 });
}

function qdrantError(status: number, error: string): UpstreamResponse {
  return json(status, { status: { error }, time: 0 });
}

function json(status: number, body: unknown): UpstreamResponse {
  return { status, headers: {}, body: Buffer.from(JSON.stringify(body)) };
}

const workload: ResolvedWorkload = {
  service: storedService('42', { kind: 'qdrant', endpoint: 'http://node1:6333' }),
  endpoint: 'http://node1:6333',
  replicaId: '42:6333',
};

const COLLECTION_INFO = {
  status: 'green',
  points_count: 0,
  config: { params: { vectors: { size: 4, distance: 'Cosine' } } },
};

function setup(...replies: Reply[]): {
  service: VectorDbService;
  calls: Call[];
  readiness: [string, boolean][];
} {
  const calls: Call[] = [];
  const readiness: [string, boolean][] = [];
  const resolver = { resolve: () => Promise.resolve(workload) } as unknown as WorkloadResolver;
  const registry = {
    setReadiness: (id: string, ready: boolean) => {
      readiness.push([id, ready]);
      return Promise.resolve();
    },
  } as unknown as ServiceRegistry;
  const upstream = {
    request: (_workload: unknown, method: string, path: string, body?: unknown) => {
      calls.push({ method, path, body });
      const reply = replies.shift();
      if (reply === undefined) return Promise.reject(new Error(`unexpected call ${method} ${path}`));
      return reply instanceof Error ? Promise.reject(reply) : Promise.resolve(reply);
    },
  } as unknown as UpstreamClient;
  const caller = new WorkloadCaller(registry, createLogger('test', 'silent'));
  const service = new VectorDbService(resolver, caller, upstream);
  return { service, calls, readiness };
}

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`);
  return error;
}

describe('VectorDbService', () => {
  it('lists collection names', async () => {
    const { service, calls } = setup(ok({ collections: [{ name: 'a' }, { name: 'b' }] }));
    await expect(service.collections('42')).resolves.toEqual({
      success: true,
      collections: ['a', 'b'],
      service_id: '42',
    });
    expect(calls).toEqual([{ method: 'GET', path: '/collections', body: undefined }]);
  });

  it('creates a collection with Cosine distance unless told otherwise', async () => {
    const { service, calls } = setup(ok(true), ok(true));
    await expect(service.createCollection('42', 'docs', { vector_size: 4 })).resolves.toMatchObject({
      success: true,
      collection_name: 'docs',
      distance: 'Cosine',
    });
    await service.createCollection('42', 'docs2', { vector_size: 8, distance: 'Dot' });
    expect(calls.map((call) => call.body)).toEqual([
      { vectors: { size: 4, distance: 'Cosine' } },
      { vectors: { size: 8, distance: 'Dot' } },
    ]);
    expect(calls[0]?.path).toBe('/collections/docs');
  });

  it('turns an existing collection into a 409, whether Qdrant says 409 or (before 1.8) 400', async () => {
    const { service } = setup(
      qdrantError(409, 'Wrong input: Collection `docs` already exists!'),
      qdrantError(400, 'Wrong input: Collection `docs` already exists!'),
    );
    for (let i = 0; i < 2; i += 1) {
      const error = await failure(service.createCollection('42', 'docs', { vector_size: 4 }));
      expect(error.status).toBe(409);
      expect(error.message).toBe("Collection 'docs' already exists in Vector DB service 42");
    }
  });

  it('answers 404 for a collection that is not there, on get and on delete', async () => {
    const { service } = setup(qdrantError(404, "Not found: Collection `x` doesn't exist!"), ok(false));
    const get = await failure(service.collection('42', 'x'));
    expect(get.status).toBe(404);
    expect(get.message).toBe("Collection 'x' not found in Vector DB service 42");
    expect((await failure(service.deleteCollection('42', 'x'))).status).toBe(404);
  });

  it('stores mapped ids with the original in the payload and leaves Qdrant ids alone', async () => {
    const { service, calls } = setup(ok(COLLECTION_INFO), ok({ operation_id: 3, status: 'completed' }));
    const uuid = '5c56c793-69f3-4fbf-87e6-c4bf54c28c26';
    const request: UpsertPointsDto = {
      points: [
        { id: 1, vector: [0.1, 0.2, 0.3, 0.4], payload: { text: 'First document' } },
        { id: 'doc-α', vector: [0.4, 0.5, 0.6, 0.7] },
        { id: uuid, vector: [1, 0, 0, 0], payload: { n: 1 } },
      ],
    };
    await expect(service.upsert('42', 'docs', request)).resolves.toMatchObject({
      success: true,
      upserted: 3,
      operation_id: 3,
    });
    expect(calls[1]).toEqual({
      method: 'PUT',
      path: '/collections/docs/points?wait=true',
      body: {
        points: [
          { id: 1, vector: [0.1, 0.2, 0.3, 0.4], payload: { text: 'First document' } },
          {
            id: toQdrantId('doc-α'),
            vector: [0.4, 0.5, 0.6, 0.7],
            payload: { [RESERVED_PAYLOAD_KEY]: 'doc-α' },
          },
          { id: uuid, vector: [1, 0, 0, 0], payload: { n: 1 } },
        ],
      },
    });
  });

  it('refuses vectors of the wrong size before writing anything, naming the points', async () => {
    const { service, calls } = setup(ok(COLLECTION_INFO));
    const error = await failure(
      service.upsert('42', 'docs', {
        points: [
          { id: 1, vector: [1, 2, 3, 4] },
          { id: 'b', vector: [1, 2, 3] },
        ],
      }),
    );
    expect(error.status).toBe(400);
    expect(error.message).toContain('vectors of size 4');
    expect(error.message).toContain('points[1] (id "b") has 3');
    expect(calls).toHaveLength(1);
  });

  it('passes a search on and gives the original ids back without the reserved key', async () => {
    const mapped = toQdrantId('doc-α');
    const { service, calls } = setup(
      ok([
        { id: mapped, version: 1, score: 0.99, payload: { [RESERVED_PAYLOAD_KEY]: 'doc-α', text: 'a' } },
        { id: 2, version: 1, score: 0.5, payload: { text: 'b' } },
      ]),
    );
    const response = await service.search('42', 'docs', { query_vector: [0.1, 0.2, 0.3, 0.4] });
    expect(calls[0]).toEqual({
      method: 'POST',
      path: '/collections/docs/points/search',
      body: { vector: [0.1, 0.2, 0.3, 0.4], limit: 10, with_payload: true },
    });
    const hits = [
      { id: 'doc-α', score: 0.99, payload: { text: 'a' } },
      { id: 2, score: 0.5, payload: { text: 'b' } },
    ];
    expect(response).toEqual({
      success: true,
      results: hits,
      result: hits,
      num_results: 2,
    });
  });

  it('asks only for the reserved key when no payload is wanted, and passes the filter on', async () => {
    const mapped = toQdrantId('doc-α');
    const { service, calls } = setup(
      ok([{ id: mapped, score: 1, payload: { [RESERVED_PAYLOAD_KEY]: 'doc-α' } }]),
    );
    const filter = { must: [{ key: 'text', match: { value: 'a' } }] };
    const request: SearchPointsDto = { query_vector: [1, 0, 0, 0], limit: 3, with_payload: false, filter };
    const response = await service.search('42', 'docs', request);
    expect(calls[0]?.body).toEqual({
      vector: [1, 0, 0, 0],
      limit: 3,
      with_payload: { include: [RESERVED_PAYLOAD_KEY] },
      filter,
    });
    expect(response.results).toEqual([{ id: 'doc-α', score: 1, payload: null }]);
  });

  it('maps Qdrant 4xx to 400 and 5xx or garbage to 502', async () => {
    const { service } = setup(
      qdrantError(400, 'Wrong input: Vector dimension error: expected dim: 4, got 3'),
      qdrantError(500, 'Service internal error: boom'),
      { status: 200, headers: {}, body: Buffer.from('<html>') },
    );
    const bad = await failure(service.search('42', 'docs', { query_vector: [1, 2, 3] }));
    expect(bad.status).toBe(400);
    expect(bad.message).toContain('expected dim: 4, got 3');
    const broken = await failure(service.collections('42'));
    expect(broken.status).toBe(502);
    expect(broken.message).toContain('boom');
    expect((await failure(service.collections('42'))).status).toBe(502);
  });

  it('marks a workload that refuses the connection down and answers 503', async () => {
    const { service, readiness } = setup(new UpstreamConnectError('node1:6333: connect ECONNREFUSED'));
    const error = await failure(service.collections('42'));
    expect(error.status).toBe(503);
    expect(error.message).toBe(
      'Vector DB service 42 could not be reached (node1:6333: connect ECONNREFUSED); it is marked not ready until it answers again',
    );
    expect(error.details).toEqual({ attempted_replicas: ['42:6333'] });
    expect(readiness).toEqual([['42', false]]);
  });

  it('answers 504 when the workload accepted the request but did not answer', async () => {
    const { service, readiness } = setup(new UpstreamTimeoutError('node1:6333 did not answer'));
    expect((await failure(service.collections('42'))).status).toBe(504);
    expect(readiness).toEqual([]);
  });
});
