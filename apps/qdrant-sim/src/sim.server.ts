import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { ApiError } from './api.errors';
import { Collection, shortestFloat32, type StoredPoint } from './collection';
import type { Payload } from './filter';
import { parsePointIdText, pointIdKey } from './point-id';
import {
  parseCount,
  parseCreateCollection,
  parseJsonText,
  parsePointsSelector,
  parseQuery,
  parseRetrieve,
  parseScroll,
  parseSearch,
  parseUpsert,
  type JsonBody,
  type QueryRequest,
  type WithPayload,
} from './requests';
import type { SimConfig } from './sim.config';
import { SimMetrics } from './sim.metrics';
import { SimStorage } from './sim.storage';

export interface SimServerOptions {
  /** Receives one line per event (start, access log); defaults to stdout. */
  log?: (line: string) => void;
  /** Source of randomness for SIM_FAIL_RATE; injectable so tests can pin it. */
  random?: () => number;
}

type RouteName =
  | 'root'
  | 'healthz'
  | 'livez'
  | 'readyz'
  | 'metrics'
  | 'listCollections'
  | 'getCollection'
  | 'createCollection'
  | 'deleteCollection'
  | 'collectionExists'
  | 'upsertPoints'
  | 'retrievePoints'
  | 'searchPoints'
  | 'queryPoints'
  | 'countPoints'
  | 'deletePoints'
  | 'scrollPoints'
  | 'getPoint';

interface RouteDef {
  method: string;
  pattern: string;
  name: RouteName;
  /** Allowed with the read-only key; Qdrant treats GET and its read-only POST searches as reads. */
  read: boolean;
}

// Literal routes come before `{id}`, as in Qdrant, so `/points/search` is never read as a point id.
// Qdrant reports the git commit it was built from; the simulator has none, so it reports a fixed stand-in.
const COMMIT = '0000000000000000000000000000000000000000';

const ROUTES: readonly RouteDef[] = [
  { method: 'GET', pattern: '/', name: 'root', read: true },
  { method: 'GET', pattern: '/healthz', name: 'healthz', read: true },
  { method: 'GET', pattern: '/livez', name: 'livez', read: true },
  { method: 'GET', pattern: '/readyz', name: 'readyz', read: true },
  { method: 'GET', pattern: '/metrics', name: 'metrics', read: true },
  { method: 'GET', pattern: '/collections', name: 'listCollections', read: true },
  { method: 'GET', pattern: '/collections/{name}', name: 'getCollection', read: true },
  { method: 'PUT', pattern: '/collections/{name}', name: 'createCollection', read: false },
  { method: 'DELETE', pattern: '/collections/{name}', name: 'deleteCollection', read: false },
  { method: 'GET', pattern: '/collections/{name}/exists', name: 'collectionExists', read: true },
  { method: 'PUT', pattern: '/collections/{name}/points', name: 'upsertPoints', read: false },
  { method: 'POST', pattern: '/collections/{name}/points', name: 'retrievePoints', read: true },
  { method: 'POST', pattern: '/collections/{name}/points/search', name: 'searchPoints', read: true },
  { method: 'POST', pattern: '/collections/{name}/points/query', name: 'queryPoints', read: true },
  { method: 'POST', pattern: '/collections/{name}/points/count', name: 'countPoints', read: true },
  { method: 'POST', pattern: '/collections/{name}/points/delete', name: 'deletePoints', read: false },
  { method: 'POST', pattern: '/collections/{name}/points/scroll', name: 'scrollPoints', read: true },
  { method: 'GET', pattern: '/collections/{name}/points/{id}', name: 'getPoint', read: true },
];

interface Matched {
  route: RouteDef | undefined;
  /** Pattern of the first route whose path matches, whatever the method: what Qdrant's telemetry labels. */
  pattern: string | undefined;
  params: string[];
}

function matchPath(pattern: string, segments: readonly string[]): string[] | undefined {
  const parts = pattern === '/' ? [] : pattern.slice(1).split('/');
  if (parts.length !== segments.length) return undefined;
  const params: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    const segment = segments[i] as string;
    if (part.startsWith('{')) params.push(segment);
    else if (part !== segment) return undefined;
  }
  return params;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function route(method: string, path: string): Matched {
  const segments = path === '/' ? [] : path.slice(1).split('/');
  let pattern: string | undefined;
  for (const def of ROUTES) {
    const raw = matchPath(def.pattern, segments);
    if (raw === undefined) continue;
    pattern ??= def.pattern;
    if (def.method === method) return { route: def, pattern, params: raw.map(decodeSegment) };
  }
  return { route: undefined, pattern, params: [] };
}

/** Actix's NormalizePath::trim, which Qdrant installs: repeated slashes merge, a trailing one goes. */
function normalizePath(path: string): string {
  const merged = path.replace(/\/{2,}/g, '/');
  return merged.length > 1 && merged.endsWith('/') ? merged.slice(0, -1) : merged;
}

// Qdrant's API-key middleware lets these through without a key; everything else, /metrics included, needs one.
function isOpenPath(path: string): boolean {
  return path === '/' || path === '/healthz' || path.startsWith('/readyz') || path.startsWith('/livez');
}

const COLLECTION_NAME_FORBIDDEN = ['<', '>', ':', '"', '/', '\\', '|', '?', '*', '\0', '\u001f'];

function validateCollectionName(name: string): void {
  const bad = COLLECTION_NAME_FORBIDDEN.find((c) => name.includes(c));
  if (bad !== undefined) {
    throw ApiError.validation('path parameters', [`name: collection name cannot contain "${bad}" char`]);
  }
  if (name.length > 255) {
    throw ApiError.validation('path parameters', ['name: length must be between 1 and 255']);
  }
}

function selectPayload(payload: Payload, selector: WithPayload): Payload | undefined {
  if (selector === false) return undefined;
  if (selector === true) return payload;
  if ('include' in selector) {
    return Object.fromEntries(Object.entries(payload).filter(([key]) => selector.include.includes(key)));
  }
  return Object.fromEntries(Object.entries(payload).filter(([key]) => !selector.exclude.includes(key)));
}

function vectorOut(vector: Float32Array): number[] {
  return Array.from(vector, shortestFloat32);
}

/** Qdrant's Record: payload and vector appear only when asked for. */
function record(point: StoredPoint, withPayload: WithPayload, withVector: boolean): Record<string, unknown> {
  const payload = selectPayload(point.payload, withPayload);
  return {
    id: point.id,
    ...(payload === undefined ? {} : { payload }),
    ...(withVector ? { vector: vectorOut(point.vector) } : {}),
  };
}

/** Qdrant's ScoredPoint: payload and vector appear only when asked for. */
function scoredPoint(
  point: StoredPoint,
  score: number,
  request: { withPayload: WithPayload; withVector: boolean },
): Record<string, unknown> {
  const payload = selectPayload(point.payload, request.withPayload);
  return {
    id: point.id,
    version: point.version,
    score: shortestFloat32(score),
    ...(payload === undefined ? {} : { payload }),
    ...(request.withVector ? { vector: vectorOut(point.vector) } : {}),
  };
}

/**
 * The Query API over one unnamed dense vector: nearest to a vector, or to a stored point's vector (that point left
 * out, as Qdrant leaves out the points a query refers to), or with no query the points in id order, scored 0.
 */
function queryPoints(collection: Collection, request: QueryRequest): Record<string, unknown>[] {
  const { target, limit, offset } = request;
  if (target === undefined) {
    const page = collection.scroll({ limit: offset + limit, filter: request.filter });
    return page.points.slice(offset).map((point) => scoredPoint(point, 0, request));
  }
  let vector: readonly number[];
  let filter = request.filter;
  if ('point' in target) {
    const point = collection.get(target.point);
    if (point === undefined) throw ApiError.notFound(`No point with id ${String(target.point)} found`);
    vector = Array.from(point.vector);
    const excluded = { kind: 'has_id' as const, ids: new Set([pointIdKey(target.point)]) };
    filter = {
      must: filter?.must ?? [],
      should: filter?.should ?? [],
      mustNot: [...(filter?.mustNot ?? []), excluded],
    };
  } else vector = target.vector;
  const hits = collection.search(vector, { limit, offset, filter, scoreThreshold: request.scoreThreshold });
  return hits.map((hit) => scoredPoint(hit, hit.score, request));
}

export class SimServer {
  readonly server: Server;
  readonly metrics: SimMetrics;
  readonly collections = new Map<string, Collection>();
  readonly storage: SimStorage | undefined;
  private readonly log: (line: string) => void;
  private readonly random: () => number;

  constructor(
    readonly config: SimConfig,
    options: SimServerOptions = {},
  ) {
    this.log = options.log ?? ((line) => process.stdout.write(`${line}\n`));
    this.random = options.random ?? Math.random;
    this.storage =
      config.storagePath === undefined
        ? undefined
        : new SimStorage(config.storagePath, (name) => this.collections.get(name));
    this.metrics = new SimMetrics(config.version, () => ({
      collections: this.collections.size,
      vectors: [...this.collections.values()].reduce((sum, c) => sum + c.pointsCount, 0),
    }));
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        this.fail(res, error, 0);
      });
    });
    this.server.keepAliveTimeout = 5_000;
  }

  /** Loads stored collections, then binds the configured host/port (port 0 picks a free one). */
  async listen(): Promise<AddressInfo> {
    if (this.storage !== undefined) {
      for (const collection of await this.storage.load()) this.collections.set(collection.name, collection);
    }
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.config.httpPort, this.config.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address() as AddressInfo;
    const storage = this.storage === undefined ? 'in memory' : `storage ${this.storage.directory}`;
    this.log(
      `qdrant-sim: serving Qdrant ${this.config.version} REST on ${this.config.host}:${address.port} ` +
        `(${this.collections.size} collections, ${storage})`,
    );
    return address;
  }

  /** Stops accepting, cuts open connections, and waits for queued collection writes. */
  async close(): Promise<void> {
    if (this.server.listening) {
      const closed = new Promise<void>((resolve) => {
        this.server.close(() => {
          resolve();
        });
      });
      this.server.closeAllConnections();
      await closed;
    }
    await this.storage?.flush();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = normalizePath(url.pathname);
    const { route: def, pattern, params } = route(method, path);
    res.on('close', () => {
      const seconds = (performance.now() - started) / 1000;
      this.metrics.restResponse(method, pattern ?? 'unknown', res.statusCode, seconds);
      const status = res.writableFinished ? String(res.statusCode) : `${res.statusCode} (aborted)`;
      this.log(`qdrant-sim: ${method} ${path} ${status} ${Math.round(seconds * 1000)}ms`);
    });

    let access: 'manage' | 'read' = 'manage';
    if (!isOpenPath(path)) {
      const granted = this.authenticate(req);
      if (typeof granted === 'object') {
        // Qdrant answers auth failures in plain text, before routing, so unknown paths get them too.
        this.send(res, granted.status, granted.message, undefined);
        return;
      }
      access = granted;
    }

    if (def === undefined) {
      // Actix's default service: 404 with an empty body, also for a known path with another method.
      this.send(res, 404, '', undefined);
      return;
    }

    try {
      await this.dispatch(def, params, req, res, url, access, started);
    } catch (error) {
      this.fail(res, error, started);
    }
  }

  /** Returns the granted access, or the plain-text refusal Qdrant's middleware sends. */
  private authenticate(req: IncomingMessage): 'manage' | 'read' | { status: number; message: string } {
    const { apiKey, readOnlyApiKey } = this.config;
    if (apiKey === undefined && readOnlyApiKey === undefined) return 'manage';
    const header = req.headers['api-key'];
    const bearer = req.headers.authorization;
    const key =
      (Array.isArray(header) ? header[0] : header) ??
      (bearer?.startsWith('Bearer ') ? bearer.slice('Bearer '.length) : undefined);
    if (key === undefined) {
      return { status: 401, message: 'Must provide an API key or an Authorization bearer token' };
    }
    if (apiKey !== undefined && key === apiKey) return 'manage';
    if (readOnlyApiKey !== undefined && key === readOnlyApiKey) return 'read';
    return { status: 401, message: 'Invalid API key or JWT' };
  }

  private async dispatch(
    def: RouteDef,
    params: string[],
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    access: 'manage' | 'read',
    started: number,
  ): Promise<void> {
    switch (def.name) {
      case 'root':
        this.json(res, 200, {
          title: 'qdrant - vector search engine',
          version: this.config.version,
          commit: COMMIT,
        });
        return;
      case 'healthz':
      case 'livez':
        this.send(res, 200, 'healthz check passed', 'text/plain; charset=utf-8');
        return;
      case 'readyz':
        this.send(res, 200, 'all shards are ready', 'text/plain; charset=utf-8');
        return;
      case 'metrics':
        this.send(res, 200, await this.metrics.render(), this.metrics.contentType);
        return;
      default:
        break;
    }

    if (this.config.failRate > 0 && this.random() < this.config.failRate) {
      throw ApiError.internal('Simulated failure (SIM_FAIL_RATE)');
    }
    // A read-only key passes the middleware; Qdrant then refuses the write itself.
    if (!def.read && access === 'read') throw ApiError.forbidden('Global manage access is required');

    const name = params[0] ?? '';
    const wait = url.searchParams.get('wait') === 'true';
    const ok = (result: unknown): void => {
      this.json(res, 200, { result, status: 'ok', time: (performance.now() - started) / 1000 });
    };

    switch (def.name) {
      case 'listCollections':
        ok({
          collections: [...this.collections.keys()].sort().map((collection) => ({ name: collection })),
        });
        return;
      case 'getCollection':
        ok(collectionInfo(this.collection(name)));
        return;
      case 'collectionExists':
        ok({ exists: this.collections.has(name) });
        return;
      case 'createCollection': {
        validateCollectionName(name);
        const params = parseCreateCollection(await this.readJson(req));
        if (this.collections.has(name))
          throw ApiError.alreadyExists(`Collection \`${name}\` already exists!`);
        this.collections.set(name, new Collection(name, params));
        await this.persist(name, true);
        ok(true);
        return;
      }
      case 'deleteCollection': {
        const existed = this.collections.delete(name);
        if (existed) await this.persist(name, true);
        ok(existed);
        return;
      }
      case 'upsertPoints': {
        const points = parseUpsert(await this.readJson(req));
        const collection = this.collection(name);
        const operation = collection.upsert(points);
        await this.persist(name, wait);
        ok(updateResult(operation, wait));
        return;
      }
      case 'deletePoints': {
        const selector = parsePointsSelector(await this.readJson(req));
        const collection = this.collection(name);
        const operation =
          'points' in selector
            ? collection.deletePoints(selector.points)
            : collection.deleteWhere(selector.filter);
        await this.persist(name, wait);
        ok(updateResult(operation, wait));
        return;
      }
      case 'searchPoints': {
        const request = parseSearch(await this.readJson(req));
        const hits = this.collection(name).search(request.vector, request);
        ok(hits.map((hit) => scoredPoint(hit, hit.score, request)));
        return;
      }
      case 'queryPoints': {
        const request = parseQuery(await this.readJson(req));
        ok({ points: queryPoints(this.collection(name), request) });
        return;
      }
      case 'countPoints': {
        const filter = parseCount(await this.readJson(req));
        ok({ count: this.collection(name).count(filter) });
        return;
      }
      case 'scrollPoints': {
        const request = parseScroll(await this.readJson(req));
        const page = this.collection(name).scroll({
          limit: request.limit,
          from: request.offset,
          filter: request.filter,
        });
        ok({
          points: page.points.map((p) => record(p, request.withPayload, request.withVector)),
          next_page_offset: page.next,
        });
        return;
      }
      case 'retrievePoints': {
        const request = parseRetrieve(await this.readJson(req));
        const collection = this.collection(name);
        const seen = new Set<string>();
        const found: Record<string, unknown>[] = [];
        for (const id of request.ids) {
          const point = collection.get(id);
          if (point === undefined || seen.has(pointIdKey(id))) continue;
          seen.add(pointIdKey(id));
          found.push(record(point, request.withPayload, request.withVector));
        }
        ok(found);
        return;
      }
      case 'getPoint': {
        const text = params[1] ?? '';
        const id = parsePointIdText(text);
        if (id === undefined) throw ApiError.badInput(`Can not recognize "${text}" as point id`);
        const point = this.collection(name).get(id);
        if (point === undefined) throw ApiError.notFound(`Point with id ${String(id)} does not exists!`);
        ok(record(point, true, true));
        return;
      }
      default:
        throw ApiError.internal('the route has no handler');
    }
  }

  private collection(name: string): Collection {
    const collection = this.collections.get(name);
    if (collection === undefined) throw ApiError.collectionNotFound(name);
    return collection;
  }

  /**
   * Writes the collection's file when a storage path is set. `wait=true` answers only once it is written, like
   * Qdrant's "completed"; otherwise the write happens behind the response, like "acknowledged".
   */
  private async persist(name: string, wait: boolean): Promise<void> {
    if (this.storage === undefined) return;
    const written = this.storage.sync(name);
    if (!wait) {
      written.catch((error: unknown) => {
        this.log(`qdrant-sim: failed to store collection ${name}: ${String(error)}`);
      });
      return;
    }
    try {
      await written;
    } catch (error) {
      throw ApiError.internal(`failed to store collection ${name}: ${String(error)}`);
    }
  }

  private async readJson(req: IncomingMessage): Promise<JsonBody> {
    const type = req.headers['content-type'];
    const raw = await readBody(req, this.config.maxRequestBytes);
    // Actix's JSON extractor requires a JSON content type (any `*/json` or `*/*+json`).
    if (type === undefined || !/^[^/\s]+\/([^;\s]*\+)?json\s*(;|$)/i.test(type.trim())) {
      throw new ApiError(400, 'FORMAT', 'Payload error: Content type error', false);
    }
    return parseJsonText(raw.toString('utf8'));
  }

  // ---- responses ---------------------------------------------------------------------------------------------

  private fail(res: ServerResponse, error: unknown, started: number): void {
    const apiError =
      error instanceof ApiError
        ? error
        : ApiError.internal(error instanceof Error ? error.message : String(error));
    const time = apiError.timed && started > 0 ? (performance.now() - started) / 1000 : 0;
    const headers: Record<string, string> =
      apiError.code === 'PAYLOAD_TOO_LARGE' ? { connection: 'close' } : {};
    this.json(res, apiError.status, { status: { error: apiError.message }, time }, headers);
  }

  private json(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    this.send(res, status, JSON.stringify(body), 'application/json', headers);
  }

  private send(
    res: ServerResponse,
    status: number,
    body: string,
    contentType: string | undefined,
    headers: Record<string, string> = {},
  ): void {
    if (res.headersSent || res.writableEnded || res.destroyed) return;
    res.writeHead(status, {
      ...(contentType === undefined ? {} : { 'content-type': contentType }),
      'content-length': Buffer.byteLength(body),
      ...headers,
    });
    res.end(body);
  }
}

function updateResult(operation: number, wait: boolean): unknown {
  return { operation_id: operation, status: wait ? 'completed' : 'acknowledged' };
}

/** GET /collections/{name}: Qdrant's CollectionInfo with the defaults a fresh single-node collection reports. */
function collectionInfo(collection: Collection): unknown {
  const points = collection.pointsCount;
  return {
    status: 'green',
    optimizer_status: 'ok',
    vectors_count: points,
    // Below Qdrant's indexing threshold nothing is in an HNSW index; the simulator never builds one.
    indexed_vectors_count: 0,
    points_count: points,
    segments_count: 2,
    config: {
      params: {
        vectors: { size: collection.params.size, distance: collection.params.distance },
        shard_number: 1,
        replication_factor: 1,
        write_consistency_factor: 1,
        on_disk_payload: true,
      },
      hnsw_config: {
        m: 16,
        ef_construct: 100,
        full_scan_threshold: 10000,
        max_indexing_threads: 0,
        on_disk: false,
      },
      optimizer_config: {
        deleted_threshold: 0.2,
        vacuum_min_vector_number: 1000,
        default_segment_number: 0,
        max_segment_size: null,
        memmap_threshold: null,
        indexing_threshold: 20000,
        flush_interval_sec: 5,
        max_optimization_threads: null,
      },
      wal_config: { wal_capacity_mb: 32, wal_segments_ahead: 0 },
      quantization_config: null,
    },
    payload_schema: {},
  };
}

/**
 * Collects the body up to `limit` bytes. A larger one gets Qdrant's answer (400 and actix's overflow message, not
 * 413), after draining it so the client gets to read that answer, unless it goes on past four times the limit,
 * when the connection is cut.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const drainLimit = limit * 4;
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    const tooLarge = (): ApiError =>
      new ApiError(
        400,
        'PAYLOAD_TOO_LARGE',
        declared > limit
          ? `Payload error: JSON payload (${declared} bytes) is larger than allowed (limit: ${limit} bytes).`
          : `Payload error: JSON payload has exceeded limit (${limit} bytes).`,
        false,
      );
    if (declared > drainLimit) {
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > drainLimit) {
        req.destroy();
        return;
      }
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > limit) reject(tooLarge());
      else resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(tooLarge());
    });
  });
}

export interface StartSimOptions extends SimServerOptions {
  /** Aborting it during the startup delay stops the start: the port is never bound. */
  signal?: AbortSignal;
}

/** Waits SIM_STARTUP_DELAY_MS (like loading collections, before the port exists), then loads and listens. */
export async function startSim(config: SimConfig, options: StartSimOptions = {}): Promise<SimServer> {
  if (config.startupDelayMs > 0) {
    await sleep(config.startupDelayMs, undefined, options.signal ? { signal: options.signal } : {});
  }
  options.signal?.throwIfAborted();
  const sim = new SimServer(config, options);
  await sim.listen();
  return sim;
}
