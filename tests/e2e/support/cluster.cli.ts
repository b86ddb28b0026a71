import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { ROOT } from '@aiplane/testing';

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `aiplane <args>` with exactly `env` (plus PATH), never throwing, so refusals can be asserted. */
export function runCli(args: string[], env: Record<string, string>, timeoutMs = 240_000): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'aiplane'), ...args], {
      cwd: path.join(ROOT),
      env: { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** A TCP port nothing listens on right now, for the local gateway. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') reject(new Error('no port'));
        else resolve(address.port);
      });
    });
  });
}
