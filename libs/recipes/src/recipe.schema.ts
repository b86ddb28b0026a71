import { parseDocument } from 'yaml';
import { z } from 'zod';

import { RecipeError } from './recipe.errors';
import {
  ENV_NAME_MAX_LENGTH,
  ENV_NAME_PATTERN,
  GPU_PER_REPLICA_LIMIT,
  MEMORY_PATTERN,
  MODULE_PATTERN,
  PORT_LIMIT,
  PORT_VARIABLE,
  RECIPE_KINDS,
  RECIPE_NAME_PATTERN,
  RESOURCE_LIMITS,
  SLURM_NAME_PATTERN,
  reservedEnvReason,
} from './recipe.rules';

const boundedInt = (limit: { min: number; max: number }) => z.int().min(limit.min).max(limit.max);
const slurmName = z
  .string()
  .regex(SLURM_NAME_PATTERN, 'must be 1-64 characters from A-Z a-z 0-9 _ . -')
  .optional();
const envName = z
  .string()
  .max(ENV_NAME_MAX_LENGTH)
  .regex(ENV_NAME_PATTERN, 'must be a variable name: letters, digits and _, not starting with a digit');

const resourcesSchema = z.strictObject({
  nodes: boundedInt(RESOURCE_LIMITS.nodes),
  cpu: boundedInt(RESOURCE_LIMITS.cpu),
  memory: z
    .string()
    .regex(MEMORY_PATTERN, 'must look like "64G": a positive integer and a K, M, G or T unit'),
  time_limit: boundedInt(RESOURCE_LIMITS.time_limit),
  gpu: boundedInt(RESOURCE_LIMITS.gpu),
  partition: slurmName,
  account: slurmName,
  qos: slurmName,
});

const parameterSchema = z.strictObject({
  name: envName,
  description: z.string().min(1),
  // Documentation only: the value a job gets when the user sets nothing.
  default: z.string().optional(),
});

const commandSchema = z.string().trim().min(1, 'must not be empty');

const recipeSchema = z
  .strictObject({
    name: z.string().regex(RECIPE_NAME_PATTERN, 'must be lower-case letters, digits, _ and -'),
    description: z.string().min(1),
    version: z.string().regex(/^\d+\.\d+\.\d+$/, 'must be a quoted "MAJOR.MINOR.PATCH" string'),
    kind: z.enum(RECIPE_KINDS),
    resources: resourcesSchema,
    ports: z.strictObject({ base: boundedInt(PORT_LIMIT) }),
    gpu_per_replica: boundedInt(GPU_PER_REPLICA_LIMIT).optional(),
    readiness: z.strictObject({
      path: z.string().regex(/^\/[A-Za-z0-9_.~/-]*$/, 'must be an absolute URL path such as /health'),
    }),
    environment: z.record(envName, z.string({ error: 'must be a string (quote it in YAML)' })).default({}),
    parameters: z.array(parameterSchema).default([]),
    runtime: z.strictObject({
      cluster: z.strictObject({
        modules: z
          .array(z.string().regex(MODULE_PATTERN, 'must be a module name such as Apptainer'))
          .default([]),
        image: z
          .string()
          .regex(
            /^((docker|oras|library|shub):\/\/[A-Za-z0-9_./:@+-]+|\/[A-Za-z0-9_./+-]+\.sif)$/,
            'must be an Apptainer image reference (docker://..., oras://..., library://...) or an absolute .sif path',
          ),
        command: commandSchema,
      }),
      local: z.strictObject({ command: commandSchema }),
    }),
  })
  .superRefine((recipe, ctx) => {
    for (const name of Object.keys(recipe.environment)) {
      const reason = reservedEnvReason(name);
      if (reason !== undefined)
        ctx.addIssue({ code: 'custom', path: ['environment', name], message: reason });
    }
    const gpr = recipe.gpu_per_replica;
    if (gpr !== undefined && recipe.resources.gpu % gpr !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['gpu_per_replica'],
        message: `resources.gpu (${recipe.resources.gpu}) must be divisible by gpu_per_replica (${gpr})`,
      });
    }
    const portVariable = PORT_VARIABLE[recipe.kind];
    if (recipe.environment[portVariable] !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['environment', portVariable],
        message: `leave ${portVariable} out of the defaults: ports.base is the default port`,
      });
    }
    const seen = new Set<string>();
    recipe.parameters.forEach((parameter, index) => {
      if (seen.has(parameter.name)) {
        ctx.addIssue({ code: 'custom', path: ['parameters', index, 'name'], message: 'is listed twice' });
      }
      seen.add(parameter.name);
      // Defaults are shown to users; they must be the values a job actually gets.
      const actual =
        parameter.name === portVariable ? String(recipe.ports.base) : recipe.environment[parameter.name];
      if (parameter.default !== undefined && actual !== undefined && parameter.default !== actual) {
        ctx.addIssue({
          code: 'custom',
          path: ['parameters', index, 'default'],
          message: `is ${JSON.stringify(parameter.default)} but the recipe's default is ${JSON.stringify(actual)}`,
        });
      }
    });
  });

export type RecipeDefinition = z.output<typeof recipeSchema>;
export type RecipeResources = RecipeDefinition['resources'];
export type RecipeParameter = RecipeDefinition['parameters'][number];

/** A validated recipe plus where it came from: `path` is `<category>/<name>`, the canonical recipe name. */
export type Recipe = RecipeDefinition & { category: string; path: string };

/**
 * Parses one recipe file. `relPath` is the file's path below the recipe directory,
 * `<category>/<name>.yaml`: the category is the folder and `name` must match the file name.
 */
export function parseRecipe(yamlText: string, relPath: string): Recipe {
  const file = relPath.replace(/\\/g, '/');
  const { category, name } = splitRecipePath(file);

  const doc = parseDocument(yamlText, { prettyErrors: true, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError !== undefined) {
    throw new RecipeError(`${file}: not valid YAML: ${yamlError.message}`, file, '(yaml)');
  }
  const result = recipeSchema.safeParse(doc.toJS({ maxAliasCount: 100 }));
  if (!result.success) {
    const problems = result.error.issues.map(formatIssue);
    const first = problems[0] ?? { field: '(root)', text: '(root): invalid' };
    const more =
      problems.length > 1
        ? ` (and ${problems.length - 1} more: ${problems
            .slice(1)
            .map((p) => p.text)
            .join('; ')})`
        : '';
    throw new RecipeError(`${file}: ${first.text}${more}`, file, first.field);
  }
  if (result.data.name !== name) {
    throw new RecipeError(
      `${file}: name: must match the file name ${JSON.stringify(name)}, got ${JSON.stringify(result.data.name)}`,
      file,
      'name',
    );
  }
  return deepFreeze({ ...result.data, category, path: `${category}/${name}` });
}

function splitRecipePath(file: string): { category: string; name: string } {
  const match = /^([^/]+)\/([^/]+)\.ya?ml$/.exec(file);
  const category = match?.[1];
  const name = match?.[2];
  if (category === undefined || name === undefined || !RECIPE_NAME_PATTERN.test(category)) {
    throw new RecipeError(
      `${file}: path: recipes live at <category>/<name>.yaml with lower-case names (letters, digits, _ and -)`,
      file,
      'path',
    );
  }
  if (!RECIPE_NAME_PATTERN.test(name)) {
    throw new RecipeError(
      `${file}: path: the file name must be lower-case letters, digits, _ and -`,
      file,
      'path',
    );
  }
  return { category, name };
}

function formatIssue(issue: z.core.$ZodIssue): { field: string; text: string } {
  const base = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const fields = issue.keys.map((key) => [...base, key].join('.'));
    return { field: fields[0] ?? '(root)', text: `${fields.join(', ')}: unknown field` };
  }
  if (issue.code === 'invalid_key') {
    const field = base.join('.') || '(root)';
    const reason = issue.issues[0]?.message ?? issue.message;
    return { field, text: `${field}: invalid key: ${reason}` };
  }
  const field = base.join('.') || '(root)';
  return { field, text: `${field}: ${issue.message}` };
}

// Recipes are shared by every request; freezing makes an accidental mutation fail loudly.
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
