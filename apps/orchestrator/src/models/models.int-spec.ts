import * as fs from 'node:fs';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import {
  Controller,
  Get,
  Global,
  Module,
  Param,
  ParseIntPipe,
  type DynamicModule,
  type INestApplication,
} from '@nestjs/common';
import { createHttpApp, createLogger, loggerModule } from '@aiplane/server-kit';
import { loadOrchestratorConfig } from '../orchestrator.config';
import { CONFIG, LOGGER } from '../platform/platform.module';
import { ModelsModule } from './models.module';

// A real HTTP server plays the Hugging Face Hub with recorded-shape answers; the orchestrator's
// ModelsModule runs in a real Nest app and is called over HTTP, as the gateway calls it.
const FIXTURES = path.join(__dirname, '__fixtures__');
const fixture = (name: string): string => fs.readFileSync(path.join(FIXTURES, name), 'utf8');
const TOKEN = 'hf_integration_secret_0123456789';
const TIMEOUT_MS = 800;

interface SeenRequest {
  url: string;
  authorization: string | undefined;
}

/** Stand-ins for the orchestrator's parameterised services/vllm routes, registered after ModelsModule. */
@Controller('services')
class StandInServicesController {
  @Get('vllm/:id/models')
  models(@Param('id', ParseIntPipe) id: number): { service: number } {
    return { service: id };
  }

  @Get(':id')
  get(@Param('id', ParseIntPipe) id: number): { service: number } {
    return { service: id };
  }
}

@Module({ controllers: [StandInServicesController] })
class StandInServicesModule {}

function testApp(env: Record<string, string>): DynamicModule {
  const config = loadOrchestratorConfig({
    LOG_LEVEL: 'silent',
    ORCHESTRATOR_TOKEN: 'orchestrator-spec-token-0123456789abcdef',
    ...env,
  });
  const logger = createLogger('orchestrator', 'silent');
  @Global()
  @Module({
    providers: [
      { provide: CONFIG, useValue: config },
      { provide: LOGGER, useValue: logger },
    ],
    exports: [CONFIG, LOGGER],
  })
  class TestPlatformModule {}

  @Module({})
  class TestAppModule {}

  return {
    module: TestAppModule,
    imports: [loggerModule(logger), TestPlatformModule, ModelsModule, StandInServicesModule],
  };
}

describe('model search (real HTTP stand-in Hub, real Nest app)', () => {
  let hub: Server;
  let hubUrl: string;
  const seen: SeenRequest[] = [];
  let app: INestApplication;
  let base: string;

  function answer(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '';
    seen.push({ url, authorization: req.headers.authorization });
    const send = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(body);
    };
    const { pathname, searchParams } = new URL(url, 'http://hub');
    if (pathname === '/api/models') {
      if (searchParams.get('search') === 'hang') return; // never answers
      if (searchParams.get('search') === 'broken') {
        send(500, JSON.stringify({ error: 'Internal Error - We are working on it' }));
        return;
      }
      send(200, fixture('hub-search-qwen.json'));
      return;
    }
    if (pathname === '/api/models/Qwen/Qwen2.5-7B-Instruct') {
      send(200, fixture('hub-model-qwen2.5-7b-instruct.json'));
      return;
    }
    if (pathname === '/api/models/gpt2' || pathname === '/api/models/openai-community/gpt2') {
      send(200, fixture('hub-model-gpt2.json'));
      return;
    }
    // What the real Hub answers for a repository it will not show: 401 and RepoNotFound.
    send(401, fixture('hub-error-401-repo-not-found.json'), {
      'x-error-code': 'RepoNotFound',
      'x-error-message': 'Invalid username or password.',
    });
  }

  beforeAll(async () => {
    hub = createServer(answer).listen(0, '127.0.0.1');
    await once(hub, 'listening');
    hubUrl = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
    const logger = createLogger('orchestrator', 'silent');
    app = await createHttpApp(
      testApp({ HF_HUB_URL: hubUrl, HF_TOKEN: TOKEN, HF_TIMEOUT_MS: String(TIMEOUT_MS) }),
      { logger },
    );
    app.setGlobalPrefix('api');
    await app.listen(0, '127.0.0.1');
    base = `${await app.getUrl()}/api/services/vllm`;
  });

  afterAll(async () => {
    await app.close();
    hub.closeAllConnections();
    hub.close();
  });

  async function call(
    pathAndQuery: string,
  ): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
    const response = await fetch(`${base}${pathAndQuery}`);
    const text = await response.text();
    return { status: response.status, body: JSON.parse(text) as Record<string, unknown>, text };
  }

  it('serves the supported architectures, examples and guidelines without calling the Hub', async () => {
    const before = seen.length;
    const { status, body } = await call('/available-models');
    expect(status).toBe(200);
    expect(Object.keys(body).sort()).toEqual(['examples', 'resource_guidelines', 'supported_architectures']);
    expect((body.supported_architectures as Record<string, string[]>).text_generation).toEqual(
      expect.arrayContaining([
        'LlamaForCausalLM',
        'Qwen2ForCausalLM',
        'MistralForCausalLM',
        'GPT2LMHeadModel',
      ]),
    );
    expect(body.resource_guidelines).toMatchObject({ '7B': { gpu: 1 }, '70B': { gpu: 4 } });
    expect(seen.length).toBe(before);
  });

  it('searches the Hub with the documented query and the bearer token, and maps the answer', async () => {
    const { status, body, text } = await call('/search-models?query=qwen&limit=10');
    expect(status).toBe(200);
    expect(seen.at(-1)).toEqual({
      url: '/api/models?search=qwen&limit=10&sort=downloads&direction=-1&filter=text-generation&full=true&config=true',
      authorization: `Bearer ${TOKEN}`,
    });
    expect(body.total).toBe(6);
    const models = body.models as Record<string, unknown>[];
    expect(models).toHaveLength(6);
    for (const model of models) {
      expect(Object.keys(model).sort()).toEqual([
        'architecture',
        'created_at',
        'downloads',
        'id',
        'likes',
        'tags',
        'vllm_compatible',
      ]);
    }
    expect(models[0]).toMatchObject({
      id: 'Qwen/Qwen2.5-7B-Instruct',
      architecture: 'Qwen2ForCausalLM',
      vllm_compatible: true,
      downloads: 1523012,
    });
    expect(models.filter((model) => model.vllm_compatible === false).map((model) => model.id)).toEqual([
      'Qwen/Qwen2.5-7B-Instruct-GGUF',
      'example-lab/qwen-hybrid-attn-1b',
    ]);
    expect(text).not.toContain(TOKEN);
  });

  it('answers a repeated search from its cache: the Hub sees no second request', async () => {
    const before = seen.length;
    const again = await call('/search-models?query=qwen&limit=10');
    expect(again.status).toBe(200);
    expect(again.body.total).toBe(6);
    expect(seen.length).toBe(before);
    await call('/search-models?query=qwen&limit=10&sort_by=likes');
    expect(seen.length).toBe(before + 1);
    expect(seen.at(-1)!.url).toContain('&sort=likes&');
  });

  it('filters by architecture', async () => {
    const { status, body } = await call('/search-models?query=qwen&limit=5&architecture=Qwen3ForCausalLM');
    expect(status).toBe(200);
    expect(seen.at(-1)!.url).toContain('limit=100&');
    expect(body).toEqual({ models: [expect.objectContaining({ id: 'Qwen/Qwen3-8B' })], total: 1 });
  });

  it('describes a model: architecture, compatibility, task and size', async () => {
    const { status, body } = await call('/model-info/Qwen/Qwen2.5-7B-Instruct');
    expect(status).toBe(200);
    expect(seen.at(-1)).toEqual({
      url: '/api/models/Qwen/Qwen2.5-7B-Instruct?blobs=true',
      authorization: `Bearer ${TOKEN}`,
    });
    expect(body).toEqual({
      id: 'Qwen/Qwen2.5-7B-Instruct',
      architecture: 'Qwen2ForCausalLM',
      vllm_compatible: true,
      task_type: 'text-generation',
      downloads: 1523012,
      likes: 812,
      tags: expect.arrayContaining(['text-generation']),
      size_bytes: 15231233024,
      size_gb: 14.19,
      pipeline_tag: 'text-generation',
      library_name: 'transformers',
    });
  });

  it('describes gpt2 with or without its owner in the path', async () => {
    for (const name of ['/model-info/gpt2', '/model-info/openai-community/gpt2']) {
      const { status, body } = await call(name);
      expect(status).toBe(200);
      expect(body).toMatchObject({
        id: 'openai-community/gpt2',
        architecture: 'GPT2LMHeadModel',
        size_gb: 0.51,
      });
    }
  });

  it('answers 404 for a model the Hub does not know', async () => {
    const { status, body } = await call('/model-info/nobody/no-such-model');
    expect(status).toBe(404);
    expect(body).toMatchObject({
      statusCode: 404,
      error: 'Not Found',
      message: 'Model nobody/no-such-model not found on the Hugging Face Hub',
    });
  });

  it('answers 400 for bad parameters without calling the Hub', async () => {
    const before = seen.length;
    const cases: [string, RegExp][] = [
      ['/search-models?limit=0', /^limit must be a whole number from 1 to 100/],
      ['/search-models?limit=500', /^limit must be a whole number from 1 to 100/],
      [
        '/search-models?sort_by=trending',
        /^sort_by must be one of downloads, likes, lastModified, createdAt/,
      ],
      [`/search-models?query=${'x'.repeat(201)}`, /^query must be at most 200 characters/],
      ['/search-models?limit=1&limit=2', /^limit must be given at most once/],
      ['/model-info/-qwen/model', /^org must be 1-96 letters/],
      [`/model-info/Qwen/${'m'.repeat(97)}`, /^name must be 1-96 letters/],
    ];
    for (const [url, message] of cases) {
      const { status, body } = await call(url);
      expect({ url, status }).toEqual({ url, status: 400 });
      expect(body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect(body.message).toMatch(message);
    }
    expect(seen.length).toBe(before);
  });

  it('wins over the parameterised services/vllm/:id routes registered after it', async () => {
    expect((await call('/model-info/models')).status).toBe(404);
    expect((await call('/search-models?query=qwen&limit=10')).status).toBe(200);
    // The stand-ins still serve their own paths.
    expect((await call('/123/models')).body).toEqual({ service: 123 });
  });

  it('answers 503 when the Hub fails or keeps silent past HF_TIMEOUT_MS', async () => {
    const broken = await call('/search-models?query=broken');
    expect(broken.status).toBe(503);
    expect(broken.body.message).toBe(
      'The Hugging Face Hub is unreachable: it answered 500 Internal Error - We are working on it',
    );

    const started = Date.now();
    const silent = await call('/search-models?query=hang');
    const elapsed = Date.now() - started;
    expect(silent.status).toBe(503);
    expect(silent.body).toMatchObject({
      statusCode: 503,
      error: 'Service Unavailable',
      message: `The Hugging Face Hub is unreachable: no answer within ${TIMEOUT_MS} ms`,
    });
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 1_500);
  });

  it('answers 503 quickly once the Hub is gone, still serving what it cached', async () => {
    hub.closeAllConnections();
    await new Promise<void>((resolve, reject) => {
      hub.close((error) => {
        if (error) reject(error);
        else resolve();
      });
    });

    const started = Date.now();
    const gone = await call('/search-models?query=llama');
    expect(gone.status).toBe(503);
    expect(gone.body.message).toMatch(/^The Hugging Face Hub is unreachable: .*ECONNREFUSED/);
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS);
    expect(gone.text).not.toContain(TOKEN);

    const info = await call('/model-info/nobody/another-model');
    expect(info.status).toBe(503);

    const cached = await call('/model-info/Qwen/Qwen2.5-7B-Instruct');
    expect(cached.status).toBe(200);
  });
});
