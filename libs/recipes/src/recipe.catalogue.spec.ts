import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { RecipeCatalogue, loadRecipeCatalogue, loadReportedRecipeCatalogue } from './recipe.catalogue';
import { parseRecipe } from './recipe.schema';

const REPO_RECIPES = join(__dirname, '..', '..', '..', 'recipes');
const qdrantText = readFileSync(join(REPO_RECIPES, 'vector-db', 'qdrant.yaml'), 'utf8');

describe('loadRecipeCatalogue on the repository recipes', () => {
  const { catalogue, errors } = loadRecipeCatalogue(REPO_RECIPES);

  it('loads all three without errors', () => {
    expect(errors).toEqual([]);
    expect(catalogue.paths()).toEqual([
      'inference/vllm-replicas',
      'inference/vllm-single-node',
      'vector-db/qdrant',
    ]);
    expect(catalogue.list().map((recipe) => recipe.name)).toEqual([
      'vllm-replicas',
      'vllm-single-node',
      'qdrant',
    ]);
  });

  it('resolves full paths and bare names to the same recipe', () => {
    expect(catalogue.resolve('inference/vllm-single-node')?.path).toBe('inference/vllm-single-node');
    expect(catalogue.resolve('vllm-single-node')).toBe(catalogue.resolve('inference/vllm-single-node'));
    expect(catalogue.resolve('qdrant')?.category).toBe('vector-db');
    expect(catalogue.resolve('vllm-replicas')?.gpu_per_replica).toBe(1);
  });

  it.each([
    'nope',
    'inference/nope',
    'vector-db/vllm-single-node',
    'inference',
    '',
    '__proto__',
    'constructor',
  ])('resolves %j to undefined', (name) => {
    expect(catalogue.resolve(name)).toBeUndefined();
  });
});

describe('loadRecipeCatalogue on a directory with problems', () => {
  let dir: string;
  const write = (relPath: string, text: string): void => {
    mkdirSync(dirname(join(dir, relPath)), { recursive: true });
    writeFileSync(join(dir, relPath), text);
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'aiplane-recipes-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports a broken recipe by file and field and still loads the others', () => {
    write('vector-db/qdrant.yaml', qdrantText);
    write(
      'vector-db/broken.yaml',
      qdrantText.replace('name: qdrant', 'name: broken').replace('gpu: 0', 'gpu: lots'),
    );
    write('vector-db/README.md', 'not a recipe');

    const { catalogue, errors } = loadRecipeCatalogue(dir);

    expect(catalogue.paths()).toEqual(['vector-db/qdrant']);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.file).toBe('vector-db/broken.yaml');
    expect(errors[0]?.message).toMatch(/^vector-db\/broken\.yaml: resources\.gpu: /);
  });

  it('logs each broken recipe at start-up and what was loaded', () => {
    write('vector-db/qdrant.yaml', qdrantText);
    write(
      'vector-db/broken.yaml',
      qdrantText.replace('name: qdrant', 'name: broken').replace('gpu: 0', 'gpu: lots'),
    );
    const lines: { level: string; fields: object; message: string }[] = [];
    const logger = {
      error: (fields: object, message: string) => lines.push({ level: 'error', fields, message }),
      info: (fields: object, message: string) => lines.push({ level: 'info', fields, message }),
    };

    const catalogue = loadReportedRecipeCatalogue(dir, logger);

    expect(catalogue.paths()).toEqual(['vector-db/qdrant']);
    expect(lines).toEqual([
      {
        level: 'error',
        fields: { file: 'vector-db/broken.yaml' },
        message: expect.stringMatching(/^invalid recipe: /),
      },
      { level: 'info', fields: { recipes: ['vector-db/qdrant'] }, message: 'recipe catalogue loaded' },
    ]);
  });

  it('reports YAML syntax errors, top-level recipe files and a second file for one recipe', () => {
    write('vector-db/qdrant.yaml', qdrantText);
    write('vector-db/qdrant.yml', qdrantText);
    write('vector-db/bad-yaml.yaml', 'name: [unclosed\n');
    write('stray.yaml', qdrantText);

    const { catalogue, errors } = loadRecipeCatalogue(dir);

    expect(catalogue.paths()).toEqual(['vector-db/qdrant']);
    expect(errors.map((error) => error.file)).toEqual([
      'stray.yaml',
      'vector-db/bad-yaml.yaml',
      'vector-db/qdrant.yml',
    ]);
    expect(errors[0]?.message).toContain('recipes live in a category folder');
    expect(errors[1]?.message).toContain('not valid YAML');
    expect(errors[2]?.message).toContain('another file already defines vector-db/qdrant');
  });

  it('leaves an ambiguous bare name unresolved while both full paths resolve', () => {
    write('vector-db/qdrant.yaml', qdrantText);
    write('experimental/qdrant.yaml', qdrantText);

    const { catalogue, errors } = loadRecipeCatalogue(dir);

    expect(errors).toEqual([]);
    expect(catalogue.resolve('qdrant')).toBeUndefined();
    expect(catalogue.resolve('experimental/qdrant')?.category).toBe('experimental');
    expect(catalogue.resolve('vector-db/qdrant')?.category).toBe('vector-db');
  });

  it('reports a directory it cannot read instead of throwing', () => {
    const missing = join(dir, 'missing');
    const { catalogue, errors } = loadRecipeCatalogue(missing);
    expect(catalogue.list()).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.file).toBe(missing);
    expect(errors[0]?.message).toContain(`cannot read the recipe directory ${missing}: ENOENT`);
  });
});

describe('RecipeCatalogue', () => {
  it('refuses the same path twice', () => {
    const recipe = parseRecipe(qdrantText, 'vector-db/qdrant.yaml');
    expect(() => new RecipeCatalogue([recipe, recipe])).toThrow('vector-db/qdrant is in the catalogue twice');
  });
});
