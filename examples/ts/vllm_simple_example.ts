/**
 * Create a vLLM service, wait until it serves, send one prompt, cancel it.
 *
 *   node dist/examples/ts/vllm_simple_example.js [--gateway URL] [--model gpt2]
 *
 * Pass --service-id to prompt a service that is already running instead; it is then left running.
 */
import {
  check,
  cleanup,
  Gateway,
  integerOption,
  parseOptions,
  runExample,
  say,
  type OptionSpec,
  type PromptAnswer,
  type ServiceRecord,
} from './client';

const RECIPE = 'inference/vllm-single-node';

export const VLLM_OPTIONS: Record<string, OptionSpec> = {
  'service-id': { help: 'use this running service instead of creating one' },
  model: { help: "Hugging Face model id (default: the recipe's, Qwen/Qwen2.5-0.5B-Instruct)" },
  prompt: { help: 'the prompt to send', default: 'Tell me a joke about programming' },
  'max-tokens': { help: 'tokens to generate at most (default: 100)', default: '100' },
};

/** Submits the job; the service is `pending` until the scheduler starts it. */
export async function createService(gateway: Gateway, model?: string): Promise<string> {
  say(`Creating a service from recipe ${RECIPE}...`);
  const service = await gateway.createService(
    RECIPE,
    model === undefined ? undefined : { environment: { VLLM_MODEL: model } },
  );
  say(`  id ${service.id}, name ${service.name}, ${service.status}`);
  return service.id;
}

export async function waitUntilReady(gateway: Gateway, id: string, timeoutMs: number): Promise<void> {
  say(`Waiting for service ${id} to be ready...`);
  await gateway.waitForService(id, timeoutMs);
  const record = await gateway.get<ServiceRecord>(`/services/${id}`);
  say(`  serving at ${record.endpoint ?? '(unknown endpoint)'}`);
}

export async function sendPrompt(
  gateway: Gateway,
  id: string,
  prompt: string,
  maxTokens: number,
): Promise<PromptAnswer> {
  say(`Prompt: '${prompt}'`);
  const answer = await gateway.post<PromptAnswer>(`/vllm/${id}/prompt`, { prompt, max_tokens: maxTokens });
  check(answer.success, `prompt failed: ${JSON.stringify(answer)}`);
  check(answer.text.length > 0, `the answer has no text: ${JSON.stringify(answer)}`);
  const { usage } = answer;
  say(`Answer (${answer.model}, ${answer.endpoint_used} API):`);
  say(`  ${answer.text.trim()}`);
  say(
    `Usage: ${usage.prompt_tokens} prompt + ${usage.completion_tokens} completion = ${usage.total_tokens} tokens`,
  );
  return answer;
}

async function main(): Promise<void> {
  const options = parseOptions('Create a vLLM service, send it a prompt, cancel it.', VLLM_OPTIONS);
  const gateway = new Gateway(options.gateway);
  say(`Gateway: ${gateway.base}`);
  let createdId: string | undefined;
  try {
    let id = options.values['service-id'];
    if (id === undefined) id = createdId = await createService(gateway, options.values.model);
    await waitUntilReady(gateway, id, options.timeoutMs);
    await sendPrompt(gateway, id, options.values.prompt ?? '', integerOption(options, 'max-tokens') ?? 100);
  } finally {
    // Cancel only what this example created; the record stays.
    if (createdId !== undefined) {
      const id = createdId;
      await cleanup(() => gateway.cancelService(id));
    }
  }
}

if (require.main === module) runExample(main);
