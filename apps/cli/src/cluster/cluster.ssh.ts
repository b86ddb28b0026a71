import { spawn } from 'node:child_process';
import { createReadStream, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLUSTER_EXIT, ClusterError } from './cluster.errors';
import { shellQuote } from './cluster.args';

export interface SshOptions {
  /** What the user typed: an alias or `user@host`. */
  host: string;
  /** `-F`: an ssh config file instead of ~/.ssh/config. */
  configFile?: string;
  /** Whether ssh may ask at the terminal (passphrase, one-time code); without one, BatchMode. */
  interactive: boolean;
  env: Record<string, string>;
}

export interface SshResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** What `ssh -G` says it would use for the host: the gateway is given the same. */
export interface ResolvedHost {
  hostname: string;
  user: string;
  port: number;
  identityFiles: string[];
  knownHostsFiles: string[];
  proxyJump: string | undefined;
  proxyCommand: string | undefined;
}

/**
 * The system OpenSSH client, for the bootstrap: it honours ~/.ssh/config, the agent, ProxyJump,
 * ProxyCommand and one-time codes exactly as the user's own `ssh` does. One master connection is
 * shared by every step (ControlMaster), so a one-time code is asked once per `cluster up`.
 */
export class SshClient {
  /**
   * The shared connection's control socket lives in a fresh 0700 directory under the temp dir:
   * a socket path must fit in 108 bytes, with ssh's own 17-character suffix, which a home
   * directory's state dir may not leave room for. Removed by close().
   */
  private readonly controlDir = mkdtempSync(path.join(os.tmpdir(), 'aiplane-ssh-'));

  constructor(private readonly options: SshOptions) {}

  private common(): string[] {
    return [
      ...(this.options.configFile === undefined ? [] : ['-F', this.options.configFile]),
      '-o',
      `BatchMode=${this.options.interactive ? 'no' : 'yes'}`,
      '-o',
      'ConnectTimeout=20',
      '-o',
      'ServerAliveInterval=15',
      '-o',
      'ControlMaster=auto',
      '-o',
      `ControlPath=${path.join(this.controlDir, '%C')}`,
      '-o',
      'ControlPersist=60',
    ];
  }

  /** `ssh -G`: the effective settings, without connecting. */
  async resolve(): Promise<ResolvedHost> {
    const result = await this.spawn(['-G', ...this.common(), '--', this.options.host], undefined);
    if (result.code !== 0) {
      throw new ClusterError(
        `ssh cannot use "${this.options.host}": ${lastLines(result.stderr) || 'ssh -G failed'}`,
        CLUSTER_EXIT.usage,
      );
    }
    const values = new Map<string, string[]>();
    for (const line of result.stdout.split('\n')) {
      const at = line.indexOf(' ');
      if (at <= 0) continue;
      const key = line.slice(0, at).toLowerCase();
      values.set(key, [...(values.get(key) ?? []), line.slice(at + 1).trim()]);
    }
    const first = (key: string): string | undefined => values.get(key)?.[0];
    const none = (value: string | undefined): string | undefined =>
      value === undefined || value === 'none' ? undefined : value;
    return {
      hostname: first('hostname') ?? this.options.host,
      user: first('user') ?? '',
      port: Number(first('port') ?? '22'),
      identityFiles: values.get('identityfile') ?? [],
      knownHostsFiles: (values.get('userknownhostsfile') ?? []).flatMap((line) => line.split(/\s+/)),
      proxyJump: none(first('proxyjump')),
      proxyCommand: none(first('proxycommand')),
    };
  }

  /** Runs `script` with `sh` on the node, as the SSH user, with `args` as $1...; never throws on its exit code. */
  async run(script: string, args: readonly string[] = []): Promise<SshResult> {
    const command = ['sh', '-s', '--', ...args.map(shellQuote)].join(' ');
    const result = await this.spawn([...this.common(), '--', this.options.host, command], script);
    if (result.code === 255) throw this.unreachable(result);
    return result;
  }

  /** Streams a local file into `remotePath` (relative to the home on the node, created 0600). */
  async upload(localFile: string, remotePath: string): Promise<void> {
    const command = `umask 077 && cat > ${shellQuote(remotePath)}`;
    const result = await this.spawn([...this.common(), '--', this.options.host, command], {
      file: localFile,
    });
    if (result.code === 255) throw this.unreachable(result);
    if (result.code !== 0) {
      throw new ClusterError(
        `copying ${path.basename(localFile)} to ${this.options.host}:${remotePath} failed: ${lastLines(result.stderr)}`,
        CLUSTER_EXIT.failed,
      );
    }
  }

  /** Ends the shared connection, if one is open. */
  async close(): Promise<void> {
    await this.spawn(['-O', 'exit', ...this.common(), '--', this.options.host], undefined).catch(
      () => undefined,
    );
    await rm(this.controlDir, { recursive: true, force: true });
  }

  private unreachable(result: SshResult): ClusterError {
    return new ClusterError(
      `ssh could not log in to ${this.options.host}: ${lastLines(result.stderr) || 'ssh exited with 255'}\n` +
        `Check that \`ssh ${this.options.host} true\` works in this terminal first (it also records the ` +
        "node's host key in ~/.ssh/known_hosts); without a terminal, load your key into ssh-agent.",
      CLUSTER_EXIT.unreachable,
    );
  }

  private spawn(args: string[], input: string | { file: string } | undefined): Promise<SshResult> {
    return new Promise((resolve, reject) => {
      // With a terminal, ssh asks for passphrases and codes on /dev/tty itself; stdin carries the script.
      const child = spawn('ssh', args, { env: this.options.env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.once('error', (error) => {
        reject(
          new ClusterError(
            `cannot run ssh (${error.message}): install the OpenSSH client and put ssh on PATH`,
            CLUSTER_EXIT.missing,
          ),
        );
      });
      child.once('close', (code) => {
        resolve({ code, stdout, stderr });
      });
      child.stdin.on('error', () => undefined);
      if (input === undefined) child.stdin.end();
      else if (typeof input === 'string') child.stdin.end(input);
      else createReadStream(input.file).pipe(child.stdin);
    });
  }
}

/** The last lines of a program's stderr, for a message. */
export function lastLines(text: string, count = 5): string {
  return text.trim().split('\n').slice(-count).join('\n').trim();
}
