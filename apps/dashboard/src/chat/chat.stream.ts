import { createParser } from 'eventsource-parser';
import { API, errorMessage, requestJson } from '../api/api.client';
import { chatChunkSchema, modelListSchema } from '../api/api.schemas';

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

/** The model the service serves (its OpenAI model list), which a chat request must name. */
export async function servedModel(id: string, signal: AbortSignal): Promise<string> {
  const list = await requestJson(`/vllm/${encodeURIComponent(id)}/v1/models`, modelListSchema, { signal });
  const first = list.data[0];
  if (first === undefined) throw new Error('The service lists no model yet: wait until it is running.');
  return first.id;
}

/**
 * Sends a chat to the service with `stream: true` and hands each piece of text to `onText` as it
 * arrives (server-sent events, parsed by eventsource-parser). Resolves when the stream ends with
 * `[DONE]`; rejects with the service's message on an error answer or an error event.
 */
export async function streamChat(
  id: string,
  body: { model: string; messages: ChatMessage[]; max_tokens: number },
  onText: (text: string) => void,
  signal: AbortSignal,
): Promise<void> {
  const response = await fetch(`${API}/vllm/${encodeURIComponent(id)}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ ...body, stream: true }),
    signal,
  });
  if (!response.ok) throw new Error(await errorMessage(response));
  if (response.body === null) throw new Error('The service answered without a body.');

  // Set from the parser's callback, which TypeScript's narrowing cannot see.
  const outcome: { done: boolean; failure: string | undefined } = { done: false, failure: undefined };
  const parser = createParser({
    onEvent: (event) => {
      if (event.data === '[DONE]') {
        outcome.done = true;
        return;
      }
      let json: unknown;
      try {
        json = JSON.parse(event.data);
      } catch {
        outcome.failure = `The service sent an event that is not JSON: ${event.data.slice(0, 200)}`;
        return;
      }
      const chunk = chatChunkSchema.safeParse(json);
      if (!chunk.success) {
        outcome.failure = 'The service sent an event that is not a chat completion chunk.';
        return;
      }
      if ('error' in chunk.data) {
        outcome.failure = chunk.data.error.message;
        return;
      }
      const text = chunk.data.choices[0]?.delta?.content;
      if (text !== null && text !== undefined && text !== '') onText(text);
    },
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    parser.feed(value);
  }
  if (outcome.failure !== undefined) throw new Error(outcome.failure);
  if (!outcome.done) throw new Error('The stream ended before the reply was complete.');
}
