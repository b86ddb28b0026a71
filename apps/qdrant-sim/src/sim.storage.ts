import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { Collection, DISTANCES, type CollectionSnapshot } from './collection';

export class SimStorageError extends Error {
  readonly code = 'SIM_STORAGE_INVALID';

  constructor(message: string, options?: { cause: unknown }) {
    super(`qdrant-sim: ${message}`, options);
    this.name = 'SimStorageError';
  }
}

/**
 * Keeps each collection as one JSON file below `<storage path>/qdrant-sim/collections/`, replaced atomically
 * (write to a temporary file, then rename) so a crash leaves either the old or the new state, never half a file.
 * Writes of one collection are queued and coalesced: a burst of upserts costs one write of the latest state.
 */
export class SimStorage {
  readonly directory: string;
  private readonly chains = new Map<string, Promise<void>>();
  private readonly queued = new Map<string, Promise<void>>();

  constructor(
    storagePath: string,
    /** The current state of a collection, or undefined once it is deleted. */
    private readonly lookup: (name: string) => Collection | undefined,
  ) {
    this.directory = join(storagePath, 'qdrant-sim', 'collections');
  }

  async load(): Promise<Collection[]> {
    await mkdir(this.directory, { recursive: true });
    const files = (await readdir(this.directory)).filter((f) => f.endsWith('.json')).sort();
    const collections: Collection[] = [];
    for (const file of files) {
      const path = join(this.directory, file);
      try {
        collections.push(Collection.restore(parseSnapshot(await readFile(path, 'utf8'))));
      } catch (error) {
        throw new SimStorageError(
          `cannot load ${path}: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      }
    }
    return collections;
  }

  /** Brings the file of `name` in line with the collection's current state (or removes it). */
  sync(name: string): Promise<void> {
    const pending = this.queued.get(name);
    if (pending !== undefined) return pending;
    const previous = this.chains.get(name) ?? Promise.resolve();
    const run = previous.then(async () => {
      // From here on, changes need a new write: this one may already have serialised the state.
      this.queued.delete(name);
      const file = this.fileOf(name);
      const collection = this.lookup(name);
      if (collection === undefined) {
        await rm(file, { force: true });
        return;
      }
      await mkdir(this.directory, { recursive: true });
      const temporary = `${file}.tmp-${process.pid}`;
      await writeSnapshot(temporary, collection.snapshot());
      await rename(temporary, file);
    });
    const settled = run.catch(() => undefined);
    this.chains.set(name, settled);
    this.queued.set(name, run);
    void settled.then(() => {
      if (this.chains.get(name) === settled) this.chains.delete(name);
    });
    return run;
  }

  /** Waits for every queued write. */
  async flush(): Promise<void> {
    while (this.chains.size > 0) await Promise.all([...this.chains.values()]);
  }

  private fileOf(name: string): string {
    // Collection names cannot contain '/' or '\', and encoding keeps them a single portable file name.
    return join(this.directory, `${encodeURIComponent(name)}.json`);
  }
}

/**
 * The vector block is by far the largest part and base64 needs no escaping, so it is written as is around the
 * JSON of the rest instead of going through JSON.stringify as one huge string.
 */
async function writeSnapshot(path: string, snapshot: CollectionSnapshot): Promise<void> {
  const { vectorData, ...rest } = snapshot;
  const head = JSON.stringify({ ...rest, vectorData: '' });
  const file = await open(path, 'w');
  try {
    await file.write(head.slice(0, -'"}'.length));
    await file.write(vectorData);
    await file.write('"}');
  } finally {
    await file.close();
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseSnapshot(text: string): CollectionSnapshot {
  const value: unknown = JSON.parse(text);
  if (!isRecord(value) || value.format !== 'qdrant-sim/collection@1') {
    throw new Error('not a qdrant-sim collection file');
  }
  const vectors = value.vectors;
  if (
    typeof value.name !== 'string' ||
    !isRecord(vectors) ||
    typeof vectors.size !== 'number' ||
    !DISTANCES.includes(vectors.distance as never) ||
    typeof value.nextOperationId !== 'number' ||
    !Array.isArray(value.ids) ||
    !Array.isArray(value.versions) ||
    !Array.isArray(value.payloads) ||
    typeof value.vectorData !== 'string'
  ) {
    throw new Error('collection file is missing fields');
  }
  return value as unknown as CollectionSnapshot;
}
