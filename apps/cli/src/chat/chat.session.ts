import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { CliError, exitCodeForStatus, messageOfBody, unreachableError } from '../common/cli.errors';

export interface ChatTarget {
  /** The OpenAI base URL: the gateway's `/v1`, or a service's `/api/v1/vllm/<id>/v1`. */
  baseURL: string;
  model: string;
  /** For people: `service 1234` or `model X (any service serving it)`. */
  label: string;
}

export interface ChatSettings {
  system?: string;
  maxTokens?: number;
  temperature?: number;
}

export interface ChatReply {
  text: string;
  finishReason: string | null;
  usage: OpenAI.CompletionUsage | null;
}

/** A conversation: the history it keeps and one streamed request per turn. */
export class ChatSession {
  private readonly client: OpenAI;
  private history: ChatCompletionMessageParam[] = [];

  constructor(
    readonly target: ChatTarget,
    private readonly settings: ChatSettings,
    private readonly gatewayUrl: string,
  ) {
    // The gateway accepts any bearer token, but the SDK insists on one.
    this.client = new OpenAI({
      baseURL: target.baseURL,
      apiKey: 'aiplane-cli',
      maxRetries: 0,
      timeout: 600_000,
    });
  }

  get turns(): number {
    return this.history.filter((message) => message.role === 'user').length;
  }

  reset(): void {
    this.history = [];
  }

  /**
   * Sends one user message with the history so far and writes the reply as it streams. The turn is
   * kept only when the reply completed, so a failed or stopped turn can simply be asked again.
   */
  async send(text: string, write: (delta: string) => void, signal?: AbortSignal): Promise<ChatReply> {
    const messages: ChatCompletionMessageParam[] = [
      ...(this.settings.system === undefined
        ? []
        : [{ role: 'system' as const, content: this.settings.system }]),
      ...this.history,
      { role: 'user', content: text },
    ];
    let reply = '';
    let finishReason: string | null = null;
    let usage: OpenAI.CompletionUsage | null = null;
    try {
      const stream = await this.client.chat.completions.create(
        {
          model: this.target.model,
          messages,
          stream: true,
          stream_options: { include_usage: true },
          ...(this.settings.maxTokens === undefined
            ? {}
            : { max_completion_tokens: this.settings.maxTokens }),
          ...(this.settings.temperature === undefined ? {} : { temperature: this.settings.temperature }),
        },
        signal === undefined ? {} : { signal },
      );
      for await (const chunk of stream) {
        const choice = chunk.choices[0];
        const delta = choice?.delta.content;
        if (typeof delta === 'string' && delta !== '') {
          reply += delta;
          write(delta);
        }
        if (choice?.finish_reason) finishReason = choice.finish_reason;
        if (chunk.usage) usage = chunk.usage;
      }
    } catch (error) {
      throw chatError(error, this.target, this.gatewayUrl);
    }
    this.history.push({ role: 'user', content: text }, { role: 'assistant', content: reply });
    return { text: reply, finishReason, usage };
  }
}

/** The SDK's errors as CliErrors with the gateway's message and the matching exit code. */
export function chatError(error: unknown, target: ChatTarget, gatewayUrl: string): unknown {
  if (error instanceof OpenAI.APIUserAbortError) return error;
  if (error instanceof OpenAI.APIConnectionError && !(error instanceof OpenAI.APIConnectionTimeoutError)) {
    return unreachableError(gatewayUrl, error.cause ?? error);
  }
  if (error instanceof OpenAI.APIError) {
    const message = messageOfBody(error.error) ?? error.message;
    const { status } = error as { status?: number };
    if (status === undefined)
      return new CliError(`chat with ${target.label}: ${message}`, exitCodeForStatus(500));
    return new CliError(
      `chat with ${target.label}: ${message} (HTTP ${String(status)})`,
      exitCodeForStatus(status),
    );
  }
  return error;
}
