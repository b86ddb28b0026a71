import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Collection } from './collection';
import { SimStorage, SimStorageError } from './sim.storage';

describe('SimStorage', () => {
  let dir: string;
  const live = new Map<string, Collection>();
  const storage = (): SimStorage => new SimStorage(dir, (name) => live.get(name));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qdrant-sim-storage-'));
    live.clear();
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a collection file and loads it back identically', async () => {
    const c = new Collection('docs/v1?', { size: 2, distance: 'Euclid' });
    c.upsert([
      { id: 7, vector: [0.1, -2.5], payload: { text: 'seven', tags: ['x'] } },
      { id: '5c56c793-69f3-4fbf-87e6-c4bf54c28c26', vector: [3, 4], payload: {} },
    ]);
    live.set(c.name, c);
    const store = storage();
    await store.sync(c.name);
    expect(await readdir(store.directory)).toEqual([`${encodeURIComponent(c.name)}.json`]);

    const [loaded] = await storage().load();
    expect(loaded!.name).toBe(c.name);
    expect(loaded!.params).toEqual({ size: 2, distance: 'Euclid' });
    expect(loaded!.scroll({ limit: 10 })).toEqual(c.scroll({ limit: 10 }));
    expect(loaded!.search([0, 0], { limit: 2, offset: 0 })).toEqual(
      c.search([0, 0], { limit: 2, offset: 0 }),
    );
    expect(loaded!.nextOperationId).toBe(1);
  });

  it('coalesces a burst of changes into the latest state and removes deleted collections', async () => {
    const c = new Collection('burst', { size: 1, distance: 'Dot' });
    live.set('burst', c);
    const store = storage();
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      c.upsert([{ id: i, vector: [i], payload: {} }]);
      writes.push(store.sync('burst'));
    }
    await Promise.all(writes);
    // The first write may start before later upserts; the queued one then picks up all the rest.
    expect(new Set(writes).size).toBeLessThanOrEqual(2);
    const file = join(store.directory, 'burst.json');
    expect((JSON.parse(await readFile(file, 'utf8')) as { ids: number[] }).ids).toHaveLength(20);

    live.delete('burst');
    await store.sync('burst');
    expect(await readdir(store.directory)).toEqual([]);
    await store.flush();
  });

  it('refuses to start from a corrupt file, naming it', async () => {
    const store = storage();
    await store.load();
    await writeFile(join(store.directory, 'broken.json'), '{"format":"something else"}');
    await expect(storage().load()).rejects.toThrow(SimStorageError);
    await expect(storage().load()).rejects.toThrow(/broken\.json.*not a qdrant-sim collection file/);
  });
});
