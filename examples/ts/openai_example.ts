/**
 * The official `openai` client against the gateway's OpenAI-compatible root: create a chat model and
 * an embedding model, list the models, chat (whole and streamed), complete, embed, cancel both.
 *
 *   npm install openai                 # any OpenAI SDK works; this one is a devDependency here
 *   node dist/examples/ts/openai_example.js [--gateway URL]
 *
 * The client is the unmodified SDK: only its baseURL points at `<gateway>/v1`. The local gateway
 * accepts any API key (the SDK insists on sending one).
 */
import OpenAI from 'openai';
import {
  check,
  cleanup,
  Gateway,
  integerOption,
  parseOptions,
  runExample,
  say,
  ExampleError,
  type OptionSpec,
} from './client';

const RECIPE = 'inference/vllm-single-node';

const OPTIONS: Record<string, OptionSpec> = {
  model: { help: 'the chat model to serve', default: 'Qwen/Qwen2.5-0.5B-Instruct' },
  'embedding-model': { help: 'the embedding model to serve', default: 'BAAI/bge-small-en-v1.5' },
  prompt: { help: 'what to ask', default: 'Tell me a joke about programming' },
  'max-tokens': { help: 'tokens to generate at most (default: 32)', default: '32' },
};

/** `<gateway>/v1`, whether or not the gateway URL ends with `/api/v1`. */
export function openaiBaseUrl(gateway: string): string {
  return `${gateway.replace(/\/+$/, '').replace(/\/api\/v1$/, '')}/v1`;
}

async function main(): Promise<void> {
  const options = parseOptions('The official OpenAI client against the gateway.', OPTIONS);
  const gateway = new Gateway(options.gateway);
  const model = options.values.model ?? '';
  const embeddingModel = options.values['embedding-model'] ?? '';
  const maxTokens = integerOption(options, 'max-tokens') ?? 32;
  const openai = new OpenAI({ baseURL: openaiBaseUrl(options.gateway), apiKey: 'unused-locally' });
  say(`OpenAI base URL: ${openai.baseURL}`);
  const created: string[] = [];
  try {
    say(`Creating a service for ${model} and one for ${embeddingModel}...`);
    for (const served of [model, embeddingModel]) {
      const service = await gateway.createService(RECIPE, { environment: { VLLM_MODEL: served } });
      created.push(service.id);
      say(`  ${served}: service ${service.id}, ${service.status}`);
    }
    // A model that is not up yet is listed too, with its status: what a client sees while it waits.
    for (const { id, status } of (await openai.models.list()).data as (OpenAI.Model & { status?: string })[])
      say(`  listed ${id}: ${status ?? '(no status)'}`);
    for (const id of created) await gateway.waitForService(id, options.timeoutMs);

    say('Models:');
    const models = (await openai.models.list()).data as (OpenAI.Model & {
      status?: string;
      ready_replicas?: number;
    })[];
    for (const entry of models)
      say(`  ${entry.id}: ${entry.status ?? '?'}, ${entry.ready_replicas ?? '?'} ready`);
    check(
      models.some((entry) => entry.id === model),
      `${model} is not listed: ${JSON.stringify(models)}`,
    );

    const prompt = options.values.prompt ?? '';
    say(`Chat: '${prompt}'`);
    const chat = await openai.chat.completions.create({
      model,
      messages: [{ role: 'user', content: prompt }],
      max_completion_tokens: maxTokens,
    });
    const answer = chat.choices[0]?.message.content ?? '';
    check(answer.length > 0, `the chat answer has no text: ${JSON.stringify(chat)}`);
    say(`  ${answer.trim()}`);
    say(`  usage: ${chat.usage?.prompt_tokens ?? '?'} + ${chat.usage?.completion_tokens ?? '?'} tokens`);

    say('Chat, streamed:');
    const stream = await openai.chat.completions.create({
      model,
      messages: [{ role: 'user', content: prompt }],
      max_completion_tokens: maxTokens,
      stream: true,
    });
    let chunks = 0;
    let streamed = '';
    for await (const chunk of stream) {
      chunks += 1;
      streamed += chunk.choices[0]?.delta.content ?? '';
    }
    check(chunks > 1 && streamed.length > 0, `the stream brought ${chunks} chunks: '${streamed}'`);
    say(`  ${chunks} chunks: ${streamed.trim()}`);

    say('Completion:');
    const completion = await openai.completions.create({
      model,
      prompt: 'Once upon a time',
      max_tokens: maxTokens,
    });
    const text = completion.choices[0]?.text ?? '';
    check(text.length > 0, `the completion has no text: ${JSON.stringify(completion)}`);
    say(`  ${text.trim()}`);

    say(`Embeddings (${embeddingModel}):`);
    const embeddings = await openai.embeddings.create({
      model: embeddingModel,
      input: ['The quick brown fox', 'jumps over the lazy dog'],
    });
    check(embeddings.data.length === 2, `expected 2 vectors, got ${embeddings.data.length}`);
    for (const item of embeddings.data) {
      const head = item.embedding.slice(0, 3).map((value) => value.toFixed(4));
      say(`  #${item.index}: ${item.embedding.length} dimensions [${head.join(', ')}, ...]`);
    }
  } catch (error) {
    // The SDK's typed errors (NotFoundError, ...) carry the gateway's OpenAI-shaped answer.
    if (error instanceof OpenAI.APIError)
      throw new ExampleError(`${error.constructor.name}: ${error.message}`);
    throw error;
  } finally {
    for (const id of created) await cleanup(() => gateway.cancelService(id));
  }
}

if (require.main === module) runExample(main);
