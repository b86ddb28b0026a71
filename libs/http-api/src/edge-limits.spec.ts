import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { CreateServiceDto } from './services.dto';
import { environmentMapProblem, MAX_ENVIRONMENT_BYTES, MAX_ENVIRONMENT_VARIABLES } from './validators';
import { MAX_VECTOR_COMPONENT } from '@aiplane/contracts';
import { SearchPointsDto, UpsertPointsDto } from './vector-db.dto';

function messages(errors: ValidationError[]): string[] {
  return errors.flatMap((error) => [
    ...Object.values(error.constraints ?? {}),
    ...messages(error.children ?? []),
  ]);
}

function problems(type: new () => object, body: unknown): string[] {
  return messages(validateSync(plainToInstance(type, body), { forbidUnknownValues: true }));
}

describe('environment maps', () => {
  it('accept strings, numbers and booleans under shell-style names', () => {
    expect(environmentMapProblem({ VLLM_MODEL: "it's $(not) run", _X: 1, FLAG: true })).toBeUndefined();
  });

  it(`refuse more than ${MAX_ENVIRONMENT_VARIABLES} variables`, () => {
    const many = Object.fromEntries(
      Array.from({ length: MAX_ENVIRONMENT_VARIABLES + 1 }, (_, i) => [`V${i}`, 'x']),
    );
    expect(environmentMapProblem(many)).toBe(
      `environment sets ${MAX_ENVIRONMENT_VARIABLES + 1} variables; at most ${MAX_ENVIRONMENT_VARIABLES} are accepted`,
    );
  });

  it(`refuse more than ${MAX_ENVIRONMENT_BYTES} bytes of names and values, counted in UTF-8`, () => {
    // 9 values of 30 000 three-byte characters: each under the per-value limit, together far over.
    const big = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`V${i}`, '€'.repeat(10_000)]));
    expect(environmentMapProblem(big)).toMatch(
      /^environment holds 270\d{3} bytes of names and values; at most 262144/,
    );
  });

  it.each([
    [{ 'A B': 'x' }, 'environment variable name "A B" is not valid'],
    [{ A: { b: 1 } }, 'environment.A must be a string, number or boolean'],
    [{ A: Number.POSITIVE_INFINITY }, 'environment.A must be a string, number or boolean'],
    [['A'], 'environment must be an object of NAME: value pairs'],
  ])('say what is wrong with %p', (value, problem) => {
    expect(environmentMapProblem(value)).toMatch(problem);
  });

  it('word the message from the field on, for the path the validation pipe puts in front', () => {
    expect(
      problems(CreateServiceDto, { recipe_name: 'vllm-single-node', config: { environment: { '1A': 'x' } } }),
    ).toEqual([
      'environment variable name "1A" is not valid: use letters, digits and _, not starting with a digit',
    ]);
  });
});

describe('recipe names', () => {
  it.each(['inference/vllm-single-node', 'vllm-single-node', 'vector-db/qdrant', 'a/b.c_d-e'])(
    'accept %s',
    (name) => {
      expect(problems(CreateServiceDto, { recipe_name: name })).toEqual([]);
    },
  );

  it.each([
    '..',
    '.',
    '../x',
    'inference/..',
    '.hidden',
    'a/.b',
    '../../etc/passwd',
    'a;b',
    'a/b/c',
    '-x',
    'a\n',
  ])('refuse %p: every part starts with a letter or digit', (name) => {
    expect(problems(CreateServiceDto, { recipe_name: name })).toEqual([
      expect.stringMatching(/^recipe_name must look like category\/name or name/),
    ]);
  });
});

describe('vector components', () => {
  it(`accept numbers within ±${MAX_VECTOR_COMPONENT}`, () => {
    expect(
      problems(UpsertPointsDto, { points: [{ id: 1, vector: [MAX_VECTOR_COMPONENT, -1e15, 0.5] }] }),
    ).toEqual([]);
    expect(problems(SearchPointsDto, { query_vector: [1e-300, -3] })).toEqual([]);
  });

  it('refuse larger ones, whose distances would overflow 32-bit floats', () => {
    expect(problems(UpsertPointsDto, { points: [{ id: 1, vector: [1, 1e308] }] })).toEqual([
      'vector must hold numbers from -1000000000000000 to 1000000000000000',
    ]);
    expect(problems(SearchPointsDto, { query_vector: [-3.4e38, 0] })).toEqual([
      'query_vector must hold numbers from -1000000000000000 to 1000000000000000',
    ]);
  });
});
