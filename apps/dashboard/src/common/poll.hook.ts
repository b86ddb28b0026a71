import { useCallback, useEffect, useRef, useState } from 'react';
import { isAbort, messageOf } from '../api/api.client';

export interface Polled<T> {
  data: T | undefined;
  error: string | undefined;
  /** Ask again now (after a create or a cancel) instead of at the next tick. */
  refresh: () => void;
}

/**
 * Calls `load` now and `intervalMs` after each answer (never two at once), aborting the one in
 * flight when the component leaves or `key` changes. The last good data stays on screen while an
 * error is shown next to it.
 */
export function usePoll<T>(
  key: string,
  load: (signal: AbortSignal) => Promise<T>,
  intervalMs: number,
): Polled<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async (): Promise<void> => {
      try {
        setData(await loadRef.current(controller.signal));
        setError(undefined);
      } catch (caught) {
        if (isAbort(caught)) return;
        setError(messageOf(caught));
      }
      if (!controller.signal.aborted) timer = setTimeout(() => void run(), intervalMs);
    };
    void run();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [key, intervalMs, tick]);

  const refresh = useCallback(() => {
    setTick((value) => value + 1);
  }, []);
  return { data, error, refresh };
}
