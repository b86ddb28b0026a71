import { clearLine, cursorTo } from 'node:readline';
import { routePath } from '@aiplane/contracts';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CliContext } from '../common/cli.context';
import { CliError, EXIT } from '../common/cli.errors';
import { formatDuration } from '../common/output.format';
import {
  phaseHistory,
  progressLine,
  waitVerdict,
  type EntryRecord,
  type Phase,
  type WaitSnapshot,
} from './services.format';

export interface WaitOptions {
  /** Give up (exit 7) after this long; absent: wait as long as it takes. */
  timeoutMs?: number;
  intervalMs?: number;
  /** How many last log lines to show when the service fails. */
  logLines?: number;
}

const DEFAULT_INTERVAL_MS = 1000;
const DEFAULT_LOG_LINES = 20;
const PLAIN_HEARTBEAT_MS = 60_000;

/**
 * Polls a service until it runs. A person at a terminal sees one line redrawn in place; a pipe gets a
 * plain line per change. Resolves with the final record when it runs; throws CliError(1) with the last
 * log lines when it ends without running, CliError(7) at the timeout.
 */
export async function waitUntilRunning(
  ctx: CliContext,
  id: string,
  options: WaitOptions = {},
): Promise<EntryRecord> {
  const gateway = ctx.gateway();
  const started = Date.now();
  const deadline = options.timeoutMs === undefined ? undefined : started + options.timeoutMs;
  const live = !ctx.json() && ctx.out.isTTY === true;
  const phases: Phase[] = [];
  let lastPlain = '';
  let lastPlainAt = 0;

  const clearLive = (): void => {
    if (!live) return;
    clearLine(ctx.out, 0);
    cursorTo(ctx.out, 0);
  };

  for (;;) {
    const record = await gateway.json<EntryRecord>('GET', routePath('services.get', 'gateway', { id }), {
      what: `service ${id}`,
    });
    const now = Date.now();
    if (phases[phases.length - 1]?.status !== record.status)
      phases.push({ status: record.status, since: now });
    const submitted = Date.parse(record.timeline.submitted_at ?? '');
    const snapshot: WaitSnapshot = {
      status: record.status,
      ...(record.queue === undefined ? {} : { queue: record.queue }),
      elapsedMs: now - (Number.isNaN(submitted) ? started : Math.min(submitted, now)),
      inPhaseMs: now - (phases[phases.length - 1]?.since ?? now),
    };
    const verdict = waitVerdict(record.status);

    if (verdict === 'waiting') {
      const line = progressLine(snapshot, now);
      if (live) {
        clearLive();
        ctx.out.write(line);
      } else if (!ctx.json()) {
        // One line per change of status or queue, not per poll (the elapsed part always changes),
        // and one now and then during a long wait, so that a log shows the wait is still alive.
        const key = `${record.status} ${JSON.stringify(record.queue ?? null)}`;
        if (key !== lastPlain || now - lastPlainAt >= PLAIN_HEARTBEAT_MS) {
          ctx.print(line);
          lastPlainAt = now;
        }
        lastPlain = key;
      }
      if (deadline !== undefined && now >= deadline) {
        clearLive();
        throw new CliError(
          `service ${id} is still ${record.status} after ${formatDuration(now - started)} (--timeout); ` +
            `it keeps going: \`aiplane services wait ${id}\` waits again, \`aiplane services cancel ${id}\` stops it`,
          EXIT.timedOut,
        );
      }
      await sleep(
        Math.min(
          options.intervalMs ?? DEFAULT_INTERVAL_MS,
          deadline === undefined ? Infinity : deadline - now,
        ),
      );
      continue;
    }

    clearLive();
    const history = phaseHistory(phases);
    if (verdict === 'running') {
      if (!ctx.json()) {
        const where =
          record.type === 'service' && record.endpoint !== null ? `; endpoint ${record.endpoint}` : '';
        ctx.print(
          `service ${id} is running after ${formatDuration(snapshot.elapsedMs)} (${history})${where}`,
        );
      }
      return record;
    }

    const lines = options.logLines ?? DEFAULT_LOG_LINES;
    const logs = await gateway
      .json<{ logs: string }>('GET', routePath('services.logs', 'gateway', { id }), {
        query: { lines },
        what: `logs of ${id}`,
      })
      .then((answer) => answer.logs)
      .catch((error: unknown) => `(its logs could not be read: ${(error as Error).message})`);
    if (ctx.json()) ctx.printJson({ ...record, last_log_lines: logs.split('\n') });
    ctx.note(`Last ${String(lines)} log lines of service ${id}:\n${logs}`);
    throw new CliError(
      `service ${id} ended ${record.status} without running (${history}, ${formatDuration(snapshot.elapsedMs)})`,
      EXIT.serviceFailed,
    );
  }
}
