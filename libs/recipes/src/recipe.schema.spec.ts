import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

import { RecipeError } from './recipe.errors';
import { parseRecipe } from './recipe.schema';

const REPO_RECIPES = join(__dirname, '..', '..', '..', 'recipes');
const singleNodeText = readFileSync(join(REPO_RECIPES, 'inference', 'vllm-single-node.yaml'), 'utf8');
const REL = 'inference/vllm-single-node.yaml';

const REMOVE = Symbol('remove');

/** The repo's single-node recipe with the value at `path` replaced (or removed), back to YAML. */
function variant(...edits: [path: (string | number)[], value: unknown][]): string {
  const recipe = parse(singleNodeText) as Record<string, unknown>;
  for (const [path, value] of edits) {
    const parent = path
      .slice(0, -1)
      .reduce<Record<string | number, unknown>>(
        (node, key) => node[key] as Record<string | number, unknown>,
        recipe,
      );
    const key = path[path.length - 1]!;
    if (value === REMOVE) Reflect.deleteProperty(parent, key);
    else parent[key] = value;
  }
  return stringify(recipe);
}

function parseError(text: string, relPath = REL): RecipeError {
  try {
    parseRecipe(text, relPath);
  } catch (error) {
    if (error instanceof RecipeError) return error;
    throw error;
  }
  throw new Error('expected a RecipeError');
}

describe('parseRecipe', () => {
  it('returns the typed recipe with its category and canonical path', () => {
    const recipe = parseRecipe(singleNodeText, REL);
    expect(recipe).toMatchObject({
      name: 'vllm-single-node',
      category: 'inference',
      path: 'inference/vllm-single-node',
      kind: 'vllm',
      resources: { nodes: 1, cpu: 8, memory: '64G', time_limit: 60, gpu: 4 },
      ports: { base: 8001 },
      readiness: { path: '/v1/models' },
    });
    expect(recipe.environment.VLLM_MODEL).toBe('Qwen/Qwen2.5-0.5B-Instruct');
    expect(recipe.gpu_per_replica).toBeUndefined();
  });

  it('freezes the recipe so a shared catalogue entry cannot be changed by a caller', () => {
    const recipe = parseRecipe(singleNodeText, REL);
    expect(Object.isFrozen(recipe)).toBe(true);
    expect(Object.isFrozen(recipe.environment)).toBe(true);
    expect(Object.isFrozen(recipe.runtime.cluster.modules)).toBe(true);
  });

  it('accepts Windows separators and the .yml extension', () => {
    expect(parseRecipe(singleNodeText, 'inference\\vllm-single-node.yml').path).toBe(
      'inference/vllm-single-node',
    );
  });

  it.each<[string, (string | number)[], unknown, string]>([
    ['an unknown top-level field', ['replicas'], 2, 'replicas: unknown field'],
    ['an unknown resources field', ['resources', 'gpus'], 2, 'resources.gpus: unknown field'],
    ['a missing field', ['kind'], REMOVE, 'kind: '],
    ['an unknown kind', ['kind'], 'tgi', 'kind: '],
    ['cpu as a string', ['resources', 'cpu'], '8', 'resources.cpu: '],
    ['too many GPUs', ['resources', 'gpu'], 65, 'resources.gpu: '],
    [
      'a memory without a valid unit',
      ['resources', 'memory'],
      '64GB',
      'resources.memory: must look like "64G"',
    ],
    [
      'an unquoted numeric env value',
      ['environment', 'VLLM_MAX_MODEL_LEN'],
      4096,
      'environment.VLLM_MAX_MODEL_LEN: must be a string (quote it in YAML)',
    ],
    [
      'a reserved env name',
      ['environment', 'BASH_ENV'],
      '/x.sh',
      'environment.BASH_ENV: BASH_ENV is reserved',
    ],
    ['an invalid env name', ['environment', 'MY-VAR'], 'x', 'environment.MY-VAR: invalid key'],
    [
      'the port variable among the defaults',
      ['environment', 'VLLM_PORT'],
      '8001',
      'environment.VLLM_PORT: leave VLLM_PORT out',
    ],
    [
      'a parameter default that differs from the recipe default',
      ['parameters', 0, 'default'],
      'gpt2',
      'parameters.0.default: is "gpt2" but the recipe\'s default is "Qwen/Qwen2.5-0.5B-Instruct"',
    ],
    [
      'a port parameter default that differs from ports.base',
      ['ports', 'base'],
      9000,
      'parameters.2.default: is "8001" but the recipe\'s default is "9000"',
    ],
    [
      'a parameter listed twice',
      ['parameters', 8],
      { name: 'VLLM_MODEL', description: 'again' },
      'parameters.8.name: is listed twice',
    ],
    [
      'gpu_per_replica that does not divide gpu',
      ['gpu_per_replica'],
      3,
      'gpu_per_replica: resources.gpu (4) must be divisible by gpu_per_replica (3)',
    ],
    ['an unquoted version', ['version'], 1, 'version: '],
    [
      'a module name with a space',
      ['runtime', 'cluster', 'modules'],
      ['Apptainer; id'],
      'runtime.cluster.modules.0: must be a module name',
    ],
    [
      'an image that is not an Apptainer reference',
      ['runtime', 'cluster', 'image'],
      "vllm/vllm-openai'",
      'runtime.cluster.image: ',
    ],
    ['an empty command', ['runtime', 'local', 'command'], '  \n', 'runtime.local.command: must not be empty'],
    ['a relative readiness path', ['readiness', 'path'], 'health', 'readiness.path: '],
  ])('rejects %s, naming the file and the field', (_label, path, value, expected) => {
    const error = parseError(variant([path, value]));
    expect(error.code).toBe('INVALID_RECIPE');
    expect(error.file).toBe(REL);
    expect(error.message).toContain(`${REL}: `);
    expect(error.message).toContain(expected);
  });

  it('reports every problem, the first one as the field', () => {
    const error = parseError(variant([['resources', 'cpu'], 0], [['readiness', 'path'], 'x']));
    expect(error.field).toBe('resources.cpu');
    expect(error.message).toContain('(and 1 more: readiness.path: ');
  });

  it('rejects a name that does not match the file name', () => {
    const error = parseError(singleNodeText, 'inference/other.yaml');
    expect(error.field).toBe('name');
    expect(error.message).toBe(
      'inference/other.yaml: name: must match the file name "other", got "vllm-single-node"',
    );
  });

  it.each([
    'vllm-single-node.yaml',
    'a/b/vllm-single-node.yaml',
    'Inference/vllm-single-node.yaml',
    'inference/x.json',
  ])('rejects the path %s', (relPath) => {
    expect(parseError(singleNodeText, relPath).field).toBe('path');
  });

  it('reports YAML syntax errors with their position', () => {
    const error = parseError('name: x\nresources: { nodes: 1\n');
    expect(error.field).toBe('(yaml)');
    expect(error.message).toMatch(
      /^inference\/vllm-single-node\.yaml: not valid YAML: .*at line \d+, column \d+/s,
    );
  });

  it('rejects duplicate keys, which YAML would otherwise resolve silently', () => {
    expect(parseError(`${singleNodeText}\nkind: qdrant\n`).field).toBe('(yaml)');
  });

  it('rejects an empty file', () => {
    expect(parseError('').message).toContain('(root): Invalid input: expected object');
  });
});
