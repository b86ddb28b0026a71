import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

import { loadRecipeCatalogue } from './recipe.catalogue';

// A flag the pinned image does not know stops the job at start-up, on the cluster only (the local profile runs
// the simulator, which takes no flags). So every flag the recipes render must be on the release's list.
const ROOT = join(__dirname, '..', '..', '..');
const GOLDEN = join(__dirname, '__golden__');

const vllmRelease = z
  .object({
    image: z.string(),
    flags: z.object({ list: z.array(z.object({ flag: z.string().startsWith('--') })) }),
  })
  .parse(JSON.parse(readFileSync(join(ROOT, 'recipes/releases/vllm-openai-v0.11.0.json'), 'utf8')));
const qdrantRelease = z
  .object({ image: z.string(), environment: z.object({ list: z.array(z.string()) }) })
  .parse(JSON.parse(readFileSync(join(ROOT, 'recipes/releases/qdrant-v1.18.2.json'), 'utf8')));

const knownFlags = new Set(vllmRelease.flags.list.map((entry) => entry.flag));

/** The `--name` options of every `vllm serve` command line (with its `\` continuations) in a script. */
function vllmServeFlags(script: string): string[] {
  const flags: string[] = [];
  const lines = script.split('\n');
  lines.forEach((line, index) => {
    if (!/\bvllm serve\b/.test(line)) return;
    let text = line.slice(line.search(/\bvllm serve\b/));
    for (let next = index + 1; text.trimEnd().endsWith('\\') && next < lines.length; next++) {
      text += `\n${lines[next] ?? ''}`;
    }
    // `${VAR:+--flag="$VAR"}` passes a flag only when the user set VAR.
    for (const match of text.matchAll(/(?:^|\s|:\+)(--[a-z0-9][a-z0-9-]*)/g)) flags.push(match[1] ?? '');
  });
  return flags;
}

const { catalogue, errors } = loadRecipeCatalogue(join(ROOT, 'recipes'));

describe('recipes against recipes/releases', () => {
  it('loads the recipes', () => {
    expect(errors).toEqual([]);
  });

  it.each(catalogue.list().map((recipe) => [recipe.path, recipe] as const))(
    '%s pins the image its release list describes',
    (_path, recipe) => {
      const image = recipe.kind === 'vllm' ? vllmRelease.image : qdrantRelease.image;
      expect(recipe.runtime.cluster.image).toBe(image);
    },
  );

  it.each(
    catalogue
      .list()
      .filter((recipe) => recipe.kind === 'vllm')
      .map((recipe) => [recipe.path, recipe] as const),
  )('%s passes vllm serve only flags v0.11.0 has', (_path, recipe) => {
    const flags = vllmServeFlags(recipe.runtime.cluster.command);
    expect(flags.length).toBeGreaterThan(0);
    expect(flags.filter((flag) => !knownFlags.has(flag))).toEqual([]);
  });

  const clusterGoldens = readdirSync(GOLDEN).filter((file) => file.endsWith('.cluster.sh'));
  it.each(clusterGoldens)('rendered %s passes only listed vllm serve flags', (file) => {
    const flags = vllmServeFlags(readFileSync(join(GOLDEN, file), 'utf8'));
    expect(flags.filter((flag) => !knownFlags.has(flag))).toEqual([]);
  });

  it('the qdrant recipe sets only settings Qdrant 1.18 reads', () => {
    const recipe = catalogue.resolve('vector-db/qdrant');
    if (recipe === undefined) throw new Error('vector-db/qdrant is missing');
    const named = new Set([
      ...Object.keys(recipe.environment),
      ...recipe.parameters.map((parameter) => parameter.name),
      ...(recipe.runtime.cluster.command.match(/QDRANT__[A-Z_]+/g) ?? []),
    ]);
    const known = new Set(qdrantRelease.environment.list);
    expect([...named].filter((name) => name.startsWith('QDRANT__') && !known.has(name))).toEqual([]);
  });

  it('finds flags across continuation lines', () => {
    const script =
      'exec apptainer x vllm serve \\\n  --uds="$S" \\\n  --model="$M" \\\n  ${L:+--max-model-len="$L"}\n--not-this';
    expect(vllmServeFlags(script)).toEqual(['--uds', '--model', '--max-model-len']);
  });
});
