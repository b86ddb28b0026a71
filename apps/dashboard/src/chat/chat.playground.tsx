import { useEffect, useRef, useState, type SyntheticEvent } from 'react';
import { isAbort, messageOf } from '../api/api.client';
import { servedModel, streamChat, type ChatMessage } from './chat.stream';

/** A chat with one vLLM service, its replies appearing as they are generated. */
export function ChatPlayground({ id, running }: { id: string; running: boolean }) {
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [draft, setDraft] = useState('');
  const [maxTokens, setMaxTokens] = useState('128');
  const [reply, setReply] = useState<string>();
  const [error, setError] = useState<string>();
  const inFlight = useRef<AbortController>(null);
  const model = useRef<string>(undefined);

  // Leaving the page stops the generation: the aborted request is cancelled at every hop.
  useEffect(
    () => () => {
      inFlight.current?.abort();
    },
    [id],
  );

  const tokens = Number(maxTokens);
  const tokensProblem =
    Number.isInteger(tokens) && tokens >= 1 && tokens <= 4096
      ? undefined
      : 'Max tokens is a whole number from 1 to 4096';

  async function send(event: SyntheticEvent): Promise<void> {
    event.preventDefault();
    const content = draft.trim();
    if (content === '' || tokensProblem !== undefined || inFlight.current !== null) return;
    const controller = new AbortController();
    inFlight.current = controller;
    const history: ChatMessage[] = [...messages, { role: 'user', content }];
    setMessages(history);
    setDraft('');
    setError(undefined);
    setReply('');
    let text = '';
    try {
      model.current ??= await servedModel(id, controller.signal);
      await streamChat(
        id,
        { model: model.current, messages: history, max_tokens: tokens },
        (piece) => {
          text += piece;
          setReply(text);
        },
        controller.signal,
      );
    } catch (caught) {
      if (!isAbort(caught)) setError(messageOf(caught));
    } finally {
      inFlight.current = null;
      setReply(undefined);
      // Whatever arrived is kept, a stopped or failed reply included: nothing shown is taken back.
      if (text !== '') setMessages([...history, { role: 'assistant', content: text }]);
    }
  }

  return (
    <section aria-labelledby="chat-heading">
      <h2 id="chat-heading">Chat</h2>
      {running ? null : <p className="hint">The service answers once it is running.</p>}
      <ol className="transcript" aria-label="Conversation">
        {messages.map((message, index) => (
          <li key={index} className={message.role}>
            <span className="who">{message.role === 'user' ? 'You' : 'Model'}:</span> {message.content}
          </li>
        ))}
        {reply === undefined ? null : (
          <li className="assistant streaming">
            <span className="who">Model:</span>{' '}
            <output aria-label="Reply being generated" aria-live="off">
              {reply}
            </output>
          </li>
        )}
      </ol>
      {error === undefined ? null : (
        <p role="alert" className="error">
          The chat failed: {error}
        </p>
      )}
      <form onSubmit={(event) => void send(event)} aria-label="Chat with the service" className="chat">
        <label>
          Message
          <textarea
            value={draft}
            rows={3}
            onChange={(event) => {
              setDraft(event.target.value);
            }}
          />
        </label>
        <label>
          Max tokens
          <input
            value={maxTokens}
            inputMode="numeric"
            aria-invalid={tokensProblem !== undefined}
            onChange={(event) => {
              setMaxTokens(event.target.value);
            }}
          />
        </label>
        {tokensProblem === undefined ? null : <p className="error">{tokensProblem}</p>}
        <button type="submit" disabled={!running || reply !== undefined || tokensProblem !== undefined}>
          Send
        </button>
        <button
          type="button"
          disabled={reply === undefined}
          onClick={() => {
            inFlight.current?.abort();
          }}
        >
          Stop
        </button>
      </form>
    </section>
  );
}
