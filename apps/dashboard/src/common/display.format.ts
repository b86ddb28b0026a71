/** A timestamp from the API in the reader's locale, or a dash when there is none yet. */
export function formatTime(iso: string | null | undefined): string {
  if (iso === null || iso === undefined || iso === '') return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

const TERMINAL = new Set([
  'completed',
  'failed',
  'cancelled',
  'timeout',
  'node_fail',
  'preempted',
  'out_of_memory',
]);

export function isTerminal(status: string): boolean {
  return TERMINAL.has(status);
}

/** The badge colour class of a status: what the CSS knows. */
export function statusTone(status: string): 'ok' | 'wait' | 'bad' | 'off' {
  if (status === 'running') return 'ok';
  if (['pending', 'configuring', 'partially_running', 'idle'].includes(status)) return 'wait';
  if (['failed', 'degraded', 'node_fail', 'out_of_memory', 'timeout', 'preempted'].includes(status))
    return 'bad';
  return 'off';
}
