import { useEffect, useId, useState, type SyntheticEvent } from 'react';
import { messageOf, requestJson } from '../api/api.client';
import {
  recipeDetailSchema,
  recipeListSchema,
  serviceRecordSchema,
  type RecipeDetail,
  type RecipeSummary,
} from '../api/api.schemas';

/** The resources a create may set (docs/openapi.json, ResourcesDto), in the order a person reads them. */
const RESOURCE_FIELDS = [
  ['nodes', 'Nodes', 'whole number, 1 or more'],
  ['cpu', 'CPUs per task', 'whole number'],
  ['memory', 'Memory', 'e.g. 64G'],
  ['gpu', 'GPUs', '0 for CPU only'],
  ['time_limit', 'Time limit (minutes)', 'whole number'],
] as const;
type ResourceName = (typeof RESOURCE_FIELDS)[number][0];

// The gateway checks the same rule; checked here too so the message is next to the row.
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface EnvRow {
  key: number;
  name: string;
  value: string;
}

function defaultsOf(recipe: RecipeSummary | undefined): Record<ResourceName, string> {
  const value = (name: ResourceName): string => {
    const raw = recipe?.resources[name];
    return raw === undefined || raw === null ? '' : String(raw);
  };
  return {
    nodes: value('nodes'),
    cpu: value('cpu'),
    memory: value('memory'),
    gpu: value('gpu'),
    time_limit: value('time_limit'),
  };
}

function rowProblem(row: EnvRow, rows: EnvRow[]): string | undefined {
  if (row.name === '' && row.value === '') return undefined;
  if (!ENV_NAME.test(row.name)) {
    return 'A variable name starts with a letter or _ and has only letters, digits and _';
  }
  if (rows.some((other) => other.key !== row.key && other.name === row.name))
    return `${row.name} is set twice`;
  return undefined;
}

/** A create form built from the recipe catalogue: its recipes, their default resources and documented variables. */
export function CreateForm({ onCreated }: { onCreated: () => void }) {
  const ids = useId();
  const [recipes, setRecipes] = useState<RecipeSummary[]>();
  const [loadError, setLoadError] = useState<string>();
  const [recipePath, setRecipePath] = useState('');
  const [detail, setDetail] = useState<RecipeDetail>();
  const [resources, setResources] = useState(defaultsOf(undefined));
  const [gpuPerReplica, setGpuPerReplica] = useState('');
  const [rows, setRows] = useState<EnvRow[]>([]);
  const [nextKey, setNextKey] = useState(1);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string }>();

  useEffect(() => {
    const controller = new AbortController();
    requestJson('/recipes', recipeListSchema, { signal: controller.signal })
      .then((list) => {
        setRecipes(list);
        const first = list[0];
        if (first) choose(first);
      })
      .catch((error: unknown) => {
        if (!controller.signal.aborted) setLoadError(messageOf(error));
      });
    return () => {
      controller.abort();
    };
    // Loaded once: the catalogue changes with a deployment, not while the page is open.
  }, []);

  function choose(recipe: RecipeSummary): void {
    setRecipePath(recipe.path);
    setResources(defaultsOf(recipe));
    setGpuPerReplica(
      recipe.gpu_per_replica === null || recipe.gpu_per_replica === undefined
        ? ''
        : String(recipe.gpu_per_replica),
    );
    setDetail(undefined);
    setResult(undefined);
    requestJson(`/recipes/${recipe.path.split('/').map(encodeURIComponent).join('/')}`, recipeDetailSchema)
      .then(setDetail)
      // The form works without the documented variables; it only loses their suggestions.
      .catch(() => undefined);
  }

  const recipe = recipes?.find((candidate) => candidate.path === recipePath);
  const problems = new Map(rows.map((row) => [row.key, rowProblem(row, rows)]));
  const invalid = [...problems.values()].some((problem) => problem !== undefined);

  async function submit(event: SyntheticEvent): Promise<void> {
    event.preventDefault();
    if (recipe === undefined || invalid) return;
    setBusy(true);
    setResult(undefined);
    const chosen = Object.fromEntries(
      Object.entries(resources)
        .map(([name, value]) => [name, value.trim()] as const)
        .filter(([, value]) => value !== ''),
    );
    const environment = Object.fromEntries(
      rows.filter((row) => row.name !== '').map((row) => [row.name, row.value] as const),
    );
    const config: Record<string, unknown> = { resources: chosen, environment };
    if (gpuPerReplica.trim() !== '') config.gpu_per_replica = gpuPerReplica.trim();
    try {
      const created = await requestJson('/services', serviceRecordSchema, {
        method: 'POST',
        body: { recipe_name: recipe.path, config },
      });
      setResult({ ok: true, text: `Created ${created.name} (id ${created.id}).` });
      onCreated();
    } catch (error) {
      setResult({ ok: false, text: messageOf(error) });
    } finally {
      setBusy(false);
    }
  }

  if (loadError !== undefined) {
    return (
      <p role="alert" className="error">
        Could not load the recipe catalogue: {loadError}
      </p>
    );
  }
  if (recipes === undefined) return <p>Loading recipes…</p>;

  const parameters = Object.entries(detail?.parameters ?? {});
  const listId = `${ids}-variables`;
  return (
    <form className="create" onSubmit={(event) => void submit(event)} aria-label="Create a service">
      <label>
        Recipe
        <select
          value={recipePath}
          onChange={(event) => {
            const next = recipes.find((candidate) => candidate.path === event.target.value);
            if (next) choose(next);
          }}
        >
          {recipes.map((candidate) => (
            <option key={candidate.path} value={candidate.path}>
              {candidate.path}
            </option>
          ))}
        </select>
      </label>
      {recipe ? <p className="hint">{recipe.description}</p> : null}
      <fieldset>
        <legend>Resources</legend>
        {RESOURCE_FIELDS.map(([name, label, hint]) => (
          <label key={name}>
            {label}
            <input
              value={resources[name]}
              placeholder={hint}
              onChange={(event) => {
                setResources({ ...resources, [name]: event.target.value });
              }}
            />
          </label>
        ))}
        {recipe?.gpu_per_replica !== undefined && recipe.gpu_per_replica !== null ? (
          <label>
            GPUs per replica
            <input
              value={gpuPerReplica}
              onChange={(event) => {
                setGpuPerReplica(event.target.value);
              }}
            />
          </label>
        ) : null}
      </fieldset>
      <fieldset>
        <legend>Environment</legend>
        <datalist id={listId}>
          {parameters.map(([name, parameter]) => (
            <option key={name} value={name}>
              {parameter.description ?? ''}
            </option>
          ))}
        </datalist>
        {rows.length === 0 ? (
          <p className="hint">The recipe's defaults apply; add a variable to change one.</p>
        ) : null}
        {rows.map((row, index) => {
          const problem = problems.get(row.key);
          const problemId = `${ids}-problem-${String(row.key)}`;
          const update = (patch: Partial<EnvRow>): void => {
            setRows(rows.map((other) => (other.key === row.key ? { ...other, ...patch } : other)));
          };
          return (
            <div className="env-row" key={row.key}>
              <input
                aria-label={`Variable name ${String(index + 1)}`}
                list={listId}
                value={row.name}
                placeholder="NAME"
                aria-invalid={problem !== undefined}
                aria-describedby={problem === undefined ? undefined : problemId}
                onChange={(event) => {
                  update({ name: event.target.value.trim() });
                }}
              />
              <input
                aria-label={`Variable value ${String(index + 1)}`}
                value={row.value}
                placeholder={detail?.environment?.[row.name]?.toString() ?? 'value'}
                onChange={(event) => {
                  update({ value: event.target.value });
                }}
              />
              <button
                type="button"
                aria-label={`Remove variable ${String(index + 1)}`}
                onClick={() => {
                  setRows(rows.filter((other) => other.key !== row.key));
                }}
              >
                Remove
              </button>
              {problem === undefined ? null : (
                <p id={problemId} className="error">
                  {problem}
                </p>
              )}
            </div>
          );
        })}
        <button
          type="button"
          onClick={() => {
            setRows([...rows, { key: nextKey, name: '', value: '' }]);
            setNextKey(nextKey + 1);
          }}
        >
          Add variable
        </button>
      </fieldset>
      <button type="submit" disabled={busy || invalid}>
        {busy ? 'Creating…' : 'Create service'}
      </button>
      <p role="status" className="ok">
        {result?.ok === true ? result.text : ''}
      </p>
      {result?.ok === false ? (
        <p role="alert" className="error">
          Not created: {result.text}
        </p>
      ) : null}
    </form>
  );
}
