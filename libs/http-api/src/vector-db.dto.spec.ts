import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { collectionNameProblem, RESERVED_PAYLOAD_KEY } from '@aiplane/contracts';
import { CreateCollectionDto, SearchPointsDto, UpsertPointsDto } from './vector-db.dto';

function problems(type: new () => object, body: unknown): string[] {
  return validateSync(plainToInstance(type, body), { forbidUnknownValues: true }).flatMap((error) => [
    ...Object.values(error.constraints ?? {}),
    ...(error.children ?? []).flatMap((child) =>
      (child.children ?? []).flatMap((inner) => Object.values(inner.constraints ?? {})),
    ),
  ]);
}

describe('vector-db DTOs', () => {
  it("accept the document's examples", () => {
    expect(problems(CreateCollectionDto, { vector_size: 384, distance: 'Cosine' })).toEqual([]);
    expect(
      problems(UpsertPointsDto, {
        points: [
          { id: 1, vector: [0.1, 0.2, 0.3, 0.4], payload: { text: 'First document' } },
          { id: 'doc-2', vector: [0.4, 0.5, 0.6, 0.7] },
        ],
      }),
    ).toEqual([]);
    expect(problems(SearchPointsDto, { query_vector: [0.1, 0.2, 0.3, 0.4], limit: 5 })).toEqual([]);
  });

  it('refuse a payload that uses the reserved key', () => {
    const found = problems(UpsertPointsDto, {
      points: [{ id: 1, vector: [1], payload: { [RESERVED_PAYLOAD_KEY]: 'x' } }],
    });
    expect(found).toEqual([`payload must not contain the reserved key "${RESERVED_PAYLOAD_KEY}"`]);
  });

  it('refuse ids that are neither unsigned integers nor non-empty strings', () => {
    for (const id of [-1, 1.5, '', null, { a: 1 }]) {
      expect(problems(UpsertPointsDto, { points: [{ id, vector: [1] }] })).toHaveLength(1);
    }
  });

  it('accept collection names of letters, digits, "_" and "-" only', () => {
    expect(collectionNameProblem('my_documents-2')).toBeUndefined();
    expect(collectionNameProblem('a'.repeat(255))).toBeUndefined();
    for (const name of ['', 'a b', 'a.b', '..', 'a/b', 'a'.repeat(256)]) {
      expect(collectionNameProblem(name)).toMatch(/^collection name must be 1-255 characters/);
    }
  });
});
