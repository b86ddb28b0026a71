import { Inject, Injectable } from '@nestjs/common';
import type { ModelInfoDto, ModelSearchDto, ModelSearchItemDto } from '@aiplane/http-api';
import { BadRequestError, NotFoundError } from '@aiplane/server-kit';
import type { OrchestratorConfig } from '../orchestrator.config';
import { CONFIG } from '../platform/platform.module';
import { AVAILABLE_MODELS, isVllmCompatible, taskTypeOf, type AvailableModels } from './architectures';
import { HfHubClient, HUB_SORT_KEYS, type HubSort } from './hf-hub.client';
import type { HubModel, HubSibling } from './hf-hub.types';
import { TtlCache } from './ttl.cache';

export const DEFAULT_LIMIT = 10;
export const MAX_LIMIT = 100;
export const MAX_QUERY_LENGTH = 200;
/** Enough for a few hundred searches and model pages; each entry is at most a few hundred KB. */
export const CACHE_ENTRIES = 200;

// An architecture filter is applied to what the Hub returns, so the Hub is asked for its largest
// page: asking for `limit` models and discarding most of them would answer with almost nothing.
const ARCHITECTURE_SCAN_LIMIT = 100;

const REPO_PART = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
const ARCHITECTURE = /^[A-Za-z0-9_]{1,100}$/;
const SORT_ALIASES: Readonly<Record<string, HubSort>> = {
  downloads: 'downloads',
  likes: 'likes',
  lastModified: 'lastModified',
  last_modified: 'lastModified',
  createdAt: 'createdAt',
  created_at: 'createdAt',
};

export interface SearchQuery {
  query?: unknown;
  limit?: unknown;
  architecture?: unknown;
  sort_by?: unknown;
}

export interface SearchParams {
  query: string | undefined;
  limit: number;
  architecture: string | undefined;
  sort: HubSort;
}

/** The contract's model-info record: CONTRACT.md lists its keys, and nothing else is sent. */
export type ModelInfo = ModelInfoDto;

function shown(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}

function singleString(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new BadRequestError(`${name} must be given at most once, as text`);
  return value;
}

export function parseSearchParams(raw: SearchQuery): SearchParams {
  const query = singleString('query', raw.query)?.trim();
  if (query !== undefined && query.length > MAX_QUERY_LENGTH) {
    throw new BadRequestError(`query must be at most ${MAX_QUERY_LENGTH} characters (got ${query.length})`);
  }

  const limitText = singleString('limit', raw.limit);
  let limit = DEFAULT_LIMIT;
  if (limitText !== undefined) {
    limit = /^[0-9]{1,4}$/.test(limitText) ? Number(limitText) : Number.NaN;
    if (!(limit >= 1 && limit <= MAX_LIMIT)) {
      throw new BadRequestError(
        `limit must be a whole number from 1 to ${MAX_LIMIT} (got ${shown(limitText)})`,
      );
    }
  }

  const architecture = singleString('architecture', raw.architecture)?.trim();
  if (architecture !== undefined && architecture !== '' && !ARCHITECTURE.test(architecture)) {
    throw new BadRequestError(
      `architecture must be a model class name such as Qwen2ForCausalLM (got ${shown(architecture)})`,
    );
  }

  const sortText = singleString('sort_by', raw.sort_by)?.trim();
  let sort: HubSort = 'downloads';
  if (sortText !== undefined && sortText !== '') {
    const known = Object.hasOwn(SORT_ALIASES, sortText) ? SORT_ALIASES[sortText] : undefined;
    if (known === undefined) {
      throw new BadRequestError(
        `sort_by must be one of ${HUB_SORT_KEYS.join(', ')} (got ${shown(sortText)})`,
      );
    }
    sort = known;
  }

  return {
    query: query === '' ? undefined : query,
    limit,
    architecture: architecture === '' ? undefined : architecture,
    sort,
  };
}

export function parseRepoId(org: string | undefined, name: string): string {
  const parts: [string, string][] =
    org === undefined
      ? [['name', name]]
      : [
          ['org', org],
          ['name', name],
        ];
  for (const [label, value] of parts) {
    if (!REPO_PART.test(value)) {
      throw new BadRequestError(
        `${label} must be 1-96 letters, digits, ".", "_" or "-", starting with a letter or digit (got ${shown(value)})`,
      );
    }
  }
  return org === undefined ? name : `${org}/${name}`;
}

export function architectureOf(model: HubModel): string | null {
  return model.config?.architectures?.[0] ?? null;
}

export function toSearchItem(model: HubModel): ModelSearchItemDto {
  const architecture = architectureOf(model);
  return {
    id: model.id,
    downloads: model.downloads ?? 0,
    likes: model.likes ?? 0,
    architecture,
    vllm_compatible: isVllmCompatible(architecture),
    created_at: model.createdAt ?? null,
    tags: model.tags ?? [],
  };
}

// Bytes per parameter of the dtypes safetensors headers report.
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  F64: 8,
  I64: 8,
  U64: 8,
  F32: 4,
  I32: 4,
  U32: 4,
  F16: 2,
  BF16: 2,
  I16: 2,
  U16: 2,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

function fileSize(file: HubSibling): number | undefined {
  return file.size ?? file.lfs?.size;
}

/**
 * What vLLM will download and hold: the top-level safetensors shards, else the PyTorch checkpoints.
 * The repository's total (usedStorage) is the last resort because it also counts other formats
 * (ONNX, TF, GGUF), sub-folders and old revisions, often several times the real weights.
 */
export function weightBytes(model: HubModel): number | null {
  const topLevel = (model.siblings ?? []).filter((file) => !file.rfilename.includes('/'));
  for (const pattern of [/\.safetensors$/, /^pytorch_model.*\.bin$/]) {
    const weights = topLevel.filter((file) => pattern.test(file.rfilename));
    const sizes = weights.map(fileSize);
    if (weights.length > 0 && sizes.every((size) => size !== undefined)) {
      return sizes.reduce((sum, size) => sum + size, 0);
    }
  }
  const parameters = model.safetensors?.parameters;
  if (parameters !== undefined && Object.keys(parameters).length > 0) {
    return Object.entries(parameters).reduce(
      (sum, [dtype, count]) => sum + count * (DTYPE_BYTES[dtype] ?? 2),
      0,
    );
  }
  return model.usedStorage ?? null;
}

export function toModelInfo(model: HubModel): ModelInfo {
  const architecture = architectureOf(model);
  const sizeBytes = weightBytes(model);
  const pipelineTag = model.pipeline_tag ?? null;
  return {
    id: model.id,
    architecture,
    vllm_compatible: isVllmCompatible(architecture),
    task_type: taskTypeOf(architecture, pipelineTag),
    downloads: model.downloads ?? 0,
    likes: model.likes ?? 0,
    tags: model.tags ?? [],
    size_bytes: sizeBytes,
    // GiB, as nvidia-smi and the resource guidelines count GPU memory.
    size_gb: sizeBytes === null ? null : Math.round((sizeBytes / 2 ** 30) * 100) / 100,
    pipeline_tag: pipelineTag,
    library_name: model.library_name ?? null,
  };
}

@Injectable()
export class ModelsService {
  private readonly searches: TtlCache<ModelSearchDto>;
  private readonly infos: TtlCache<ModelInfo>;

  constructor(
    private readonly hub: HfHubClient,
    @Inject(CONFIG) config: OrchestratorConfig,
  ) {
    this.searches = new TtlCache(config.HF_CACHE_MS, CACHE_ENTRIES);
    this.infos = new TtlCache(config.HF_CACHE_MS, CACHE_ENTRIES);
  }

  availableModels(): AvailableModels {
    return AVAILABLE_MODELS;
  }

  async search(raw: SearchQuery): Promise<ModelSearchDto> {
    const params = parseSearchParams(raw);
    const key = JSON.stringify([
      params.query ?? null,
      params.limit,
      params.architecture ?? null,
      params.sort,
    ]);
    return await this.searches.getOrLoad(key, async () => {
      const wanted = params.architecture?.toLowerCase();
      const found = await this.hub.searchModels({
        search: params.query,
        limit: wanted === undefined ? params.limit : ARCHITECTURE_SCAN_LIMIT,
        sort: params.sort,
      });
      const models = found
        .map(toSearchItem)
        .filter((model) => wanted === undefined || model.architecture?.toLowerCase() === wanted)
        .slice(0, params.limit);
      return { models, total: models.length };
    });
  }

  async modelInfo(org: string | undefined, name: string): Promise<ModelInfo> {
    const repoId = parseRepoId(org, name);
    return await this.infos.getOrLoad(repoId, async () => {
      const model = await this.hub.modelInfo(repoId);
      if (model === null) throw new NotFoundError(`Model ${repoId} not found on the Hugging Face Hub`);
      return toModelInfo(model);
    });
  }
}
