import { useEffect, useRef, useState } from 'react';
import { API, errorMessage, isAbort, messageOf, servicePath } from '../api/api.client';
import { logsSchema } from '../api/api.schemas';

const HISTORY_LINES = 200;
/** What the page keeps: a day of chatty logs would otherwise grow without end. */
const KEEP_CHARS = 500_000;
const POLL_MS = 2_000;

type Mode = 'following' | 'polling' | 'ended' | 'paused';

function keepTail(text: string): string {
  return text.length <= KEEP_CHARS ? text : text.slice(text.length - KEEP_CHARS);
}

/**
 * The job's log, following it: `logs?follow=true` streams new lines as text/plain; a gateway that
 * answers that with the JSON snapshot instead (no follow support) is polled for a fresh one.
 */
export function LogViewer({ id, live }: { id: string; live: boolean }) {
  const [text, setText] = useState('');
  const [mode, setMode] = useState<Mode>('paused');
  const [error, setError] = useState<string>();
  const [follow, setFollow] = useState(true);
  const view = useRef<HTMLPreElement>(null);

  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async (): Promise<void> => {
      try {
        const response = await fetch(`${API}${servicePath(id, `/logs?lines=${String(HISTORY_LINES)}`)}`, {
          signal,
        });
        if (!response.ok) throw new Error(await errorMessage(response));
        setText(keepTail(logsSchema.parse(await response.json()).logs));
        setError(undefined);
      } catch (caught) {
        if (isAbort(caught)) return;
        setError(messageOf(caught));
      }
      if (!signal.aborted && live && follow) timer = setTimeout(() => void poll(), POLL_MS);
    };
    const stream = async (): Promise<void> => {
      const query = `/logs?lines=${String(HISTORY_LINES)}&follow=true`;
      const response = await fetch(`${API}${servicePath(id, query)}`, { signal });
      if (!response.ok) throw new Error(await errorMessage(response));
      if (!(response.headers.get('content-type') ?? '').startsWith('text/plain') || response.body === null) {
        const snapshot = logsSchema.safeParse(await response.json());
        if (snapshot.success) setText(keepTail(snapshot.data.logs));
        setMode(live && follow ? 'polling' : 'paused');
        if (live && follow) timer = setTimeout(() => void poll(), POLL_MS);
        return;
      }
      setMode('following');
      setText('');
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        setText((previous) => keepTail(previous + value));
      }
      setMode('ended');
    };
    if (live && follow) {
      stream().catch((caught: unknown) => {
        if (!isAbort(caught)) setError(messageOf(caught));
      });
    } else {
      setMode(live ? 'paused' : 'ended');
      void poll();
    }
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [id, live, follow]);

  // Keep the newest line in view while following, as `tail -f` does.
  useEffect(() => {
    const element = view.current;
    if (element !== null && follow) element.scrollTop = element.scrollHeight;
  }, [text, follow]);

  const label: Record<Mode, string> = {
    following: 'following the log as it is written',
    polling: 'refreshed every 2 s',
    ended: 'the job has ended; this is its log',
    paused: 'not following',
  };
  return (
    <section aria-labelledby="logs-heading">
      <h2 id="logs-heading">Logs</h2>
      <label className="inline">
        <input
          type="checkbox"
          checked={follow}
          onChange={(event) => {
            setFollow(event.target.checked);
          }}
        />
        Follow logs
      </label>{' '}
      <span className="hint">{label[mode]}</span>
      {error === undefined ? null : (
        <p role="alert" className="error">
          Could not read the logs: {error}
        </p>
      )}
      <pre ref={view} className="logs" role="log" aria-label="Service logs" tabIndex={0}>
        {text === '' ? '(no output yet)' : text}
      </pre>
    </section>
  );
}
