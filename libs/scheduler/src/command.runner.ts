import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { SchedulerError } from './scheduler.errors';

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface CommandRunOptions {
  /** The child's complete environment; when absent the child inherits this process's environment. */
  env?: Record<string, string>;
  input?: string;
  timeoutMs?: number;
  cwd?: string;
}

export interface CommandRunner {
  run(command: string, args: readonly string[], options?: CommandRunOptions): Promise<CommandResult>;
}

const DEFAULT_TIMEOUT_MS = 30_000;
// Bounds memory if a command misbehaves; squeue for a large user is well below this.
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/**
 * Runs a binary directly (argv, never a shell), so no argument or environment value is ever
 * interpreted. A nonzero exit is a result, not an error: callers classify it from stderr.
 */
export class ExecFileCommandRunner implements CommandRunner {
  constructor(private readonly defaults: { timeoutMs?: number } = {}) {}

  run(command: string, args: readonly string[], options: CommandRunOptions = {}): Promise<CommandResult> {
    const timeoutMs = options.timeoutMs ?? this.defaults.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise<CommandResult>((resolve, reject) => {
      const child = spawn(command, [...args], {
        shell: false,
        stdio: ['pipe', 'pipe', 'pipe'],
        ...(options.env ? { env: options.env } : {}),
        ...(options.cwd ? { cwd: options.cwd } : {}),
      });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let size = 0;
      let settled = false;
      const finish = (outcome: { result: CommandResult } | { error: SchedulerError }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if ('result' in outcome) resolve(outcome.result);
        else reject(outcome.error);
      };
      const collect =
        (sink: Buffer[]) =>
        (chunk: Buffer): void => {
          size += chunk.length;
          if (size > MAX_OUTPUT_BYTES) {
            child.kill('SIGKILL');
            finish({
              error: new SchedulerError('PARSE', `${command} produced more than ${MAX_OUTPUT_BYTES} bytes`),
            });
            return;
          }
          sink.push(chunk);
        };
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        finish({
          error: new SchedulerError('UNAVAILABLE', `${command} did not finish within ${timeoutMs} ms`),
        });
      }, timeoutMs);

      child.stdout.on('data', collect(stdout));
      child.stderr.on('data', collect(stderr));
      child.on('error', (error: NodeJS.ErrnoException) => {
        const message =
          error.code === 'ENOENT'
            ? `${command} not found: is the scheduler's client installed and on PATH?`
            : `${command} could not be started: ${error.message}`;
        finish({ error: new SchedulerError('UNAVAILABLE', message, { cause: error }) });
      });
      child.on('close', (code, signal) => {
        finish({
          result: {
            stdout: Buffer.concat(stdout).toString('utf8'),
            stderr: Buffer.concat(stderr).toString('utf8'),
            // A child killed by a signal has no exit code; report it the way a shell would.
            exitCode: code ?? 128 + signalNumber(signal),
          },
        });
      });
      // A child that exits without reading its input makes the write fail with EPIPE; the exit
      // status is what matters, so the error is ignored.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input ?? '');
    });
  }
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? constants.signals[signal] : 0;
}
