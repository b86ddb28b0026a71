import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HttpService } from '@nestjs/axios';
import { AxiosError, type AxiosResponse } from 'axios';
import { Observable, of, throwError } from 'rxjs';
import { AppError, createLogger } from '@aiplane/server-kit';
import { loadOrchestratorConfig, type OrchestratorConfig } from '../orchestrator.config';
import { ARCHITECTURES, AVAILABLE_MODELS, isVllmCompatible } from './architectures';
import { HfHubClient } from './hf-hub.client';
import type { HubModel } from './hf-hub.types';
import {
  ModelsService,
  parseRepoId,
  parseSearchParams,
  weightBytes,
  type SearchQuery,
} from './models.service';

const FIXTURES = path.join(__dirname, '__fixtures__');
const fixture = (name: string): unknown => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));

type Reply = { status: number; body: unknown; headers?: Record<string, string> } | Error;

/** Stands in for @nestjs/axios: records each call and answers from a queue or a router. */
class FakeHttp {
  readonly calls: { path: string; signal: unknown }[] = [];
  constructor(private readonly route: (path: string) => Reply) {}

  get(url: string, config?: { signal?: unknown }): Observable<AxiosResponse<unknown>> {
    this.calls.push({ path: url, signal: config?.signal });
    const reply = this.route(url);
    if (reply instanceof Error) return throwError(() => reply);
    return of({
      status: reply.status,
      statusText: '',
      data: reply.body,
      headers: reply.headers ?? {},
      config: {},
    } as AxiosResponse<unknown>);
  }
}

function hubRoutes(url: string): Reply {
  if (url.startsWith('/api/models?')) return { status: 200, body: fixture('hub-search-qwen.json') };
  if (url === '/api/models/Qwen/Qwen2.5-7B-Instruct?blobs=true') {
    return { status: 200, body: fixture('hub-model-qwen2.5-7b-instruct.json') };
  }
  if (url === '/api/models/gpt2?blobs=true' || url === '/api/models/openai-community/gpt2?blobs=true') {
    return { status: 200, body: fixture('hub-model-gpt2.json') };
  }
  return {
    status: 401,
    body: fixture('hub-error-401-repo-not-found.json'),
    headers: { 'x-error-code': 'RepoNotFound' },
  };
}

function setup(route: (url: string) => Reply = hubRoutes, env: Record<string, string> = {}) {
  const config: OrchestratorConfig = loadOrchestratorConfig({
    LOG_LEVEL: 'silent',
    ORCHESTRATOR_TOKEN: 'orchestrator-spec-token-0123456789abcdef',
    ...env,
  });
  const http = new FakeHttp(route);
  const client = new HfHubClient(http as unknown as HttpService, config, createLogger('test', 'silent'));
  return { http, service: new ModelsService(client, config) };
}

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`);
  return error;
}

function badRequest(raw: SearchQuery): string {
  try {
    parseSearchParams(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).status).toBe(400);
    return (error as AppError).message;
  }
  throw new Error('expected a 400');
}

describe('search parameters', () => {
  it('defaults to the 10 most downloaded models', () => {
    expect(parseSearchParams({})).toEqual({
      query: undefined,
      limit: 10,
      architecture: undefined,
      sort: 'downloads',
    });
  });

  it('accepts every documented sort key and the snake_case spellings', () => {
    for (const sort of ['downloads', 'likes', 'lastModified', 'createdAt'] as const) {
      expect(parseSearchParams({ sort_by: sort }).sort).toBe(sort);
    }
    expect(parseSearchParams({ sort_by: 'created_at' }).sort).toBe('createdAt');
    expect(parseSearchParams({ sort_by: 'last_modified' }).sort).toBe('lastModified');
  });

  it('trims the query and treats blank values as absent', () => {
    expect(parseSearchParams({ query: '  qwen ', architecture: ' ', sort_by: '' })).toMatchObject({
      query: 'qwen',
      architecture: undefined,
      sort: 'downloads',
    });
  });

  it('refuses limits outside 1..100 with a message naming the range', () => {
    for (const limit of ['0', '101', 'ten', '1.5', '-3', '']) {
      expect(badRequest({ limit })).toMatch(/^limit must be a whole number from 1 to 100/);
    }
    expect(parseSearchParams({ limit: '100' }).limit).toBe(100);
    expect(parseSearchParams({ limit: '1' }).limit).toBe(1);
  });

  it('refuses unknown sort keys, listing the accepted ones', () => {
    expect(badRequest({ sort_by: 'trending' })).toBe(
      'sort_by must be one of downloads, likes, lastModified, createdAt (got "trending")',
    );
    expect(badRequest({ sort_by: 'constructor' })).toMatch(/^sort_by must be one of/);
  });

  it('refuses overlong queries, odd architectures and repeated parameters', () => {
    expect(parseSearchParams({ query: 'q'.repeat(200) }).query).toHaveLength(200);
    expect(badRequest({ query: 'q'.repeat(201) })).toBe('query must be at most 200 characters (got 201)');
    expect(badRequest({ architecture: 'Llama For CausalLM' })).toMatch(
      /^architecture must be a model class name/,
    );
    expect(badRequest({ limit: ['1', '2'] })).toBe('limit must be given at most once, as text');
    expect(badRequest({ query: ['a', 'b'] })).toBe('query must be given at most once, as text');
  });
});

describe('model ids', () => {
  it('accepts Hub names and refuses what the Hub cannot hold', () => {
    expect(parseRepoId('Qwen', 'Qwen2.5-7B-Instruct')).toBe('Qwen/Qwen2.5-7B-Instruct');
    expect(parseRepoId(undefined, 'gpt2')).toBe('gpt2');
    expect(parseRepoId('a', 'b'.repeat(96))).toBe(`a/${'b'.repeat(96)}`);
    for (const [org, name] of [
      ['-qwen', 'x'],
      ['..', 'x'],
      ['Qwen', '.hidden'],
      ['Qwen', 'a b'],
      ['Qwen', 'b'.repeat(97)],
      ['Qwen', ''],
    ] as const) {
      expect(() => parseRepoId(org, name)).toThrow(/must be 1-96 letters, digits/);
    }
  });
});

describe('ModelsService.search', () => {
  it('asks the Hub for text-generation models with their configs and maps each one', async () => {
    const { http, service } = setup();
    const result = await service.search({ query: 'qwen' });
    expect(http.calls.map((call) => call.path)).toEqual([
      '/api/models?search=qwen&limit=10&sort=downloads&direction=-1&filter=text-generation&full=true&config=true',
    ]);
    expect(http.calls[0]!.signal).toBeInstanceOf(AbortSignal);
    expect(result.total).toBe(6);
    expect(result.models[0]).toEqual({
      id: 'Qwen/Qwen2.5-7B-Instruct',
      downloads: 1523012,
      likes: 812,
      architecture: 'Qwen2ForCausalLM',
      vllm_compatible: true,
      created_at: '2024-09-16T11:55:40.000Z',
      tags: expect.arrayContaining(['transformers', 'text-generation', 'conversational']),
    });
    const byId = new Map(result.models.map((model) => [model.id, model]));
    expect(byId.get('Qwen/Qwen3-8B')).toMatchObject({
      architecture: 'Qwen3ForCausalLM',
      vllm_compatible: true,
    });
    expect(byId.get('Qwen/Qwen1.5-MoE-A2.7B-Chat')).toMatchObject({
      architecture: 'Qwen2MoeForCausalLM',
      vllm_compatible: true,
    });
    // A GGUF-only repository has no config.architectures: nothing to check, so not compatible.
    expect(byId.get('Qwen/Qwen2.5-7B-Instruct-GGUF')).toMatchObject({
      architecture: null,
      vllm_compatible: false,
    });
    expect(byId.get('example-lab/qwen-hybrid-attn-1b')).toMatchObject({
      architecture: 'QwenHybridAttnForCausalLM',
      vllm_compatible: false,
    });
  });

  it('omits the search term when none is given and passes the sort key through', async () => {
    const { http, service } = setup();
    await service.search({ sort_by: 'likes', limit: '3' });
    expect(http.calls[0]!.path).toBe(
      '/api/models?limit=3&sort=likes&direction=-1&filter=text-generation&full=true&config=true',
    );
  });

  it('filters by architecture, case-insensitively, from the Hub’s largest page', async () => {
    const { http, service } = setup();
    const result = await service.search({ query: 'qwen', architecture: 'qwen2forcausallm', limit: '1' });
    expect(http.calls[0]!.path).toContain('limit=100&');
    expect(result).toEqual({
      models: [expect.objectContaining({ id: 'Qwen/Qwen2.5-7B-Instruct' })],
      total: 1,
    });
    const none = await service.search({ query: 'qwen', architecture: 'LlamaForCausalLM' });
    expect(none).toEqual({ models: [], total: 0 });
  });

  it('skips Hub entries it cannot read instead of failing the search', async () => {
    const { service } = setup(() => ({
      status: 200,
      body: [
        { id: 'ok/model', downloads: 'many', config: { architectures: 'LlamaForCausalLM' } },
        { noId: true },
      ],
    }));
    expect(await service.search({})).toEqual({
      models: [
        {
          id: 'ok/model',
          downloads: 0,
          likes: 0,
          architecture: null,
          vllm_compatible: false,
          created_at: null,
          tags: [],
        },
      ],
      total: 1,
    });
  });

  it('answers a repeated search from the cache, and a different one from the Hub', async () => {
    const { http, service } = setup();
    const first = await service.search({ query: 'qwen', limit: '5' });
    const second = await service.search({ query: ' qwen', limit: '5' });
    expect(second).toEqual(first);
    expect(http.calls).toHaveLength(1);
    await service.search({ query: 'qwen', limit: '5', sort_by: 'likes' });
    await service.search({ query: 'qwen', limit: '6' });
    await service.search({ query: 'qwen', limit: '5', architecture: 'Qwen2ForCausalLM' });
    expect(http.calls).toHaveLength(4);
  });

  it('does not cache when HF_CACHE_MS is 0, nor remember failures', async () => {
    const { http, service } = setup(hubRoutes, { HF_CACHE_MS: '0' });
    await service.search({ query: 'qwen' });
    await service.search({ query: 'qwen' });
    expect(http.calls).toHaveLength(2);

    let down = true;
    const flaky = setup((url) => (down ? { status: 502, body: 'Bad Gateway' } : hubRoutes(url)));
    expect((await failure(flaky.service.search({ query: 'qwen' }))).status).toBe(503);
    down = false;
    expect((await flaky.service.search({ query: 'qwen' })).total).toBe(6);
    expect(flaky.http.calls).toHaveLength(2);
  });

  it('validates before calling the Hub', async () => {
    const { http, service } = setup();
    const error = await failure(service.search({ limit: '0' }));
    expect(error.status).toBe(400);
    expect(http.calls).toHaveLength(0);
  });
});

describe('ModelsService.modelInfo', () => {
  it('maps Qwen/Qwen2.5-7B-Instruct, sizing it by its safetensors shards', async () => {
    const { http, service } = setup();
    const info = await service.modelInfo('Qwen', 'Qwen2.5-7B-Instruct');
    expect(http.calls[0]!.path).toBe('/api/models/Qwen/Qwen2.5-7B-Instruct?blobs=true');
    expect(info).toEqual({
      id: 'Qwen/Qwen2.5-7B-Instruct',
      architecture: 'Qwen2ForCausalLM',
      vllm_compatible: true,
      task_type: 'text-generation',
      downloads: 1523012,
      likes: 812,
      tags: expect.arrayContaining(['qwen2', 'license:apache-2.0']),
      size_bytes: 15231233024,
      size_gb: 14.19,
      pipeline_tag: 'text-generation',
      library_name: 'transformers',
    });
  });

  it('sizes gpt2 by its one safetensors file, not the many other formats in the repository', async () => {
    const { service } = setup();
    const info = await service.modelInfo(undefined, 'gpt2');
    expect(info).toMatchObject({
      id: 'openai-community/gpt2',
      architecture: 'GPT2LMHeadModel',
      vllm_compatible: true,
      size_bytes: 548105171,
      size_gb: 0.51,
    });
  });

  it('reports an unknown model as 404, whether the Hub says 401 or 404', async () => {
    const { service } = setup();
    const error = await failure(service.modelInfo('nobody', 'no-such-model'));
    expect(error.status).toBe(404);
    expect(error.message).toBe('Model nobody/no-such-model not found on the Hugging Face Hub');

    const withToken = setup(() => ({ status: 404, body: fixture('hub-error-404-repo-not-found.json') }), {
      HF_TOKEN: 'hf_test',
    });
    expect((await failure(withToken.service.modelInfo('nobody', 'x'))).status).toBe(404);
  });

  it('blames a rejected HF_TOKEN instead of the model', async () => {
    const { service } = setup(() => ({ status: 401, body: fixture('hub-error-401-invalid-token.json') }), {
      HF_TOKEN: 'hf_wrong',
    });
    const error = await failure(service.modelInfo('Qwen', 'Qwen2.5-7B-Instruct'));
    expect(error.status).toBe(502);
    expect(error.message).toContain('HF_TOKEN');
    expect(error.message).not.toContain('hf_wrong');
  });

  it('caches model pages per model', async () => {
    const { http, service } = setup();
    await service.modelInfo('Qwen', 'Qwen2.5-7B-Instruct');
    await service.modelInfo('Qwen', 'Qwen2.5-7B-Instruct');
    await service.modelInfo(undefined, 'gpt2');
    expect(http.calls).toHaveLength(2);
  });

  it('refuses malformed names with 400 before calling the Hub', async () => {
    const { http, service } = setup();
    expect((await failure(service.modelInfo('Qwen', '..'))).status).toBe(400);
    expect(http.calls).toHaveLength(0);
  });
});

describe('Hub failures', () => {
  const cases: [string, Reply, number, RegExp][] = [
    [
      'refused connection',
      new AxiosError('connect ECONNREFUSED 127.0.0.1:9', 'ECONNREFUSED'),
      503,
      /^The Hugging Face Hub is unreachable: connect ECONNREFUSED 127\.0\.0\.1:9$/,
    ],
    [
      'timeout',
      new AxiosError('canceled', 'ERR_CANCELED'),
      503,
      /^The Hugging Face Hub is unreachable: no answer within 10000 ms$/,
    ],
    [
      'server error',
      { status: 503, body: { error: 'Service Unavailable' } },
      503,
      /unreachable: it answered 503/,
    ],
    ['rate limit', { status: 429, body: 'Too Many Requests' }, 503, /rate-limiting/],
    ['unexpected 400', { status: 400, body: { error: 'Invalid sort' } }, 502, /answered 400 Invalid sort$/],
    ['not a list', { status: 200, body: { models: [] } }, 502, /other than a list/],
  ];

  it.each(cases)('%s', async (_name, reply, status, message) => {
    const { service } = setup(() => reply);
    const error = await failure(service.search({ query: 'qwen' }));
    expect(error.status).toBe(status);
    expect(error.message).toMatch(message);
  });
});

describe('weight size', () => {
  const model = (fields: Partial<HubModel>): HubModel => ({ id: 'o/m', ...fields });

  it('falls back from safetensors files to PyTorch checkpoints, parameter counts, then repository size', () => {
    expect(
      weightBytes(
        model({
          siblings: [
            { rfilename: 'pytorch_model-00001-of-00002.bin', size: 10 },
            { rfilename: 'pytorch_model-00002-of-00002.bin', size: 5 },
            { rfilename: 'original/consolidated.00.pth', size: 1000 },
          ],
        }),
      ),
    ).toBe(15);
    // File sizes are missing without blobs=true: count parameters by their dtype instead.
    expect(
      weightBytes(
        model({
          siblings: [{ rfilename: 'model.safetensors' }],
          safetensors: { parameters: { BF16: 100, F32: 10 }, total: 110 },
        }),
      ),
    ).toBe(240);
    expect(weightBytes(model({ usedStorage: 1234 }))).toBe(1234);
    expect(weightBytes(model({}))).toBeNull();
  });
});

describe('available models', () => {
  it('lists each architecture once, grouped by task, with examples and guidelines', () => {
    const names = ARCHITECTURES.map((item) => item.architecture);
    expect(new Set(names).size).toBe(names.length);
    const {
      supported_architectures: supported,
      examples,
      resource_guidelines: guidelines,
    } = AVAILABLE_MODELS;
    expect(supported.text_generation).toEqual(
      expect.arrayContaining([
        'LlamaForCausalLM',
        'Qwen2ForCausalLM',
        'MistralForCausalLM',
        'GPT2LMHeadModel',
        'MixtralForCausalLM',
      ]),
    );
    expect(supported.multimodal).toContain('Qwen2_5_VLForConditionalGeneration');
    expect(supported.embedding).toContain('BertModel');
    expect(examples.small).toContain('Qwen/Qwen2.5-0.5B-Instruct');
    expect((examples.by_architecture as Record<string, string[]>).GPT2LMHeadModel).toContain(
      'openai-community/gpt2',
    );
    expect(guidelines['7B']).toMatchObject({ gpu: 1, memory: '32G' });
    expect(guidelines['70B']).toMatchObject({ gpu: 4, memory: '256G', tensor_parallel_size: 4 });
    for (const item of ARCHITECTURES) expect(item.examples.length).toBeGreaterThan(0);
  });

  it('judges compatibility by architecture name, ignoring case', () => {
    expect(isVllmCompatible('MptForCausalLM')).toBe(true);
    expect(isVllmCompatible('qwen2forcausallm')).toBe(true);
    expect(isVllmCompatible('T5ForConditionalGeneration')).toBe(false);
    expect(isVllmCompatible(null)).toBe(false);
  });

  it('is served by the service without calling the Hub', () => {
    const { http, service } = setup();
    expect(service.availableModels()).toBe(AVAILABLE_MODELS);
    expect(http.calls).toHaveLength(0);
  });
});
