import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import * as path from 'node:path';

/*
 * Faults the e2e suite injects, each on something the suite owns: its own Redis, its own sshd, and
 * the SLURM clients of its own worker. Nothing here stops a daemon that other stacks share.
 */

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  return port;
}

/** Resolves with the first bytes a TCP server sends, or rejects when nothing accepts. */
function greeting(port: number, send?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no greeting'));
    }, 1_000);
    socket.once('connect', () => {
      if (send) socket.write(send);
    });
    socket.once('data', (data) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(data.toString('utf8'));
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
}

/** The process ids below `pid`, deepest last; how a daemon's per-connection children are found. */
function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift()!;
    for (const child of parents.get(next) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** A Redis of the suite's own, AOF on as tools/infra/up.sh runs it, that the suite may kill and restart. */
export class PrivateRedis {
  private child?: ChildProcess;

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async start(dir: string): Promise<PrivateRedis> {
    mkdirSync(dir, { recursive: true });
    const redis = new PrivateRedis(await freePort(), dir);
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts it on the same port and data dir: what it comes back with is what the AOF kept. */
  async restart(): Promise<void> {
    this.child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--save',
        '',
        '--logfile',
        path.join(this.dir, 'redis.log'),
      ],
      { stdio: 'ignore' },
    );
    await until('redis answers PING', async () => (await greeting(this.port, 'PING\r\n')) === '+PONG\r\n');
  }

  /** SIGKILL: no shutdown save, no final fsync; only what the AOF already holds survives. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGKILL');
    await exited(child);
    this.child = undefined;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    await exited(child);
    this.child = undefined;
  }
}

/**
 * An sshd of the suite's own (same client key as the shared one), so that cutting the gateway's
 * SSH connection disturbs no other stack: killing a shared sshd's listener would not even cut the
 * connections it already accepted, which live in per-connection children.
 */
export class PrivateSshd {
  private child?: ChildProcess;

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async start(dir: string, clientKeyPath: string): Promise<PrivateSshd> {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const sshd = new PrivateSshd(await freePort(), dir);
    const hostKey = path.join(dir, 'ssh_host_ed25519_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'aiplane-faults', '-f', hostKey]);
    copyFileSync(`${clientKeyPath}.pub`, path.join(dir, 'authorized_keys'));
    const hostPub = readFileSync(`${hostKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(sshd.knownHostsPath, `[127.0.0.1]:${sshd.port} ${hostPub}\n`);
    writeFileSync(
      path.join(dir, 'sshd_config'),
      [
        `Port ${sshd.port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKey}`,
        `PidFile ${path.join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'PermitRootLogin prohibit-password',
        'AllowTcpForwarding yes',
        'StrictModes no',
        '',
      ].join('\n'),
    );
    await sshd.restart();
    return sshd;
  }

  get knownHostsPath(): string {
    return path.join(this.dir, 'known_hosts');
  }

  async restart(): Promise<void> {
    // sshd re-executes itself, which requires its absolute path; -D keeps it our child.
    this.child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', path.join(this.dir, 'sshd_config')], {
      stdio: 'ignore',
    });
    await until('sshd greets', async () => (await greeting(this.port)).startsWith('SSH-2.0-'));
  }

  /** Kills the listener and every connection it serves: the tunnel drops and nothing accepts a new one. */
  async cut(): Promise<void> {
    const child = this.child;
    if (!child?.pid) return;
    const connections = descendants(child.pid);
    child.kill('SIGKILL');
    for (const pid of connections) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone with its parent.
      }
    }
    await exited(child);
    this.child = undefined;
  }

  async stop(): Promise<void> {
    await this.cut();
  }
}

/**
 * The worker's SLURM clients, with a switch that points them at a port where no controller
 * listens. To the control plane this is a stopped slurmctld (the clients print the same error
 * after the same retry loop), while the shared slurmctld keeps serving every other stack.
 * The wrappers go first in the worker's PATH; switched off they change nothing.
 */
export class SlurmClientOutage {
  private constructor(readonly binDir: string) {}

  static async create(dir: string, slurmConf: string): Promise<SlurmClientOutage> {
    const binDir = path.join(dir, 'bin');
    mkdirSync(binDir, { recursive: true });
    const conf = readFileSync(slurmConf, 'utf8');
    const deadPort = await freePort();
    writeFileSync(
      path.join(dir, 'unreachable.conf'),
      conf
        .split('\n')
        .filter((line) => !/^\s*SlurmctldPort\s*=/i.test(line))
        .concat(`SlurmctldPort=${deadPort}`, '')
        .join('\n'),
    );
    for (const command of ['sbatch', 'squeue', 'scancel', 'scontrol']) {
      const real = execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim();
      const wrapper = path.join(binDir, command);
      writeFileSync(
        wrapper,
        [
          '#!/bin/sh',
          `if [ -e '${path.join(dir, 'controller-unreachable')}' ]; then`,
          `  SLURM_CONF='${path.join(dir, 'unreachable.conf')}'; export SLURM_CONF`,
          'fi',
          `exec '${real}' "$@"`,
          '',
        ].join('\n'),
      );
      chmodSync(wrapper, 0o755);
    }
    return new SlurmClientOutage(binDir);
  }

  private get flag(): string {
    return path.join(path.dirname(this.binDir), 'controller-unreachable');
  }

  begin(): void {
    writeFileSync(this.flag, '');
  }

  end(): void {
    rmSync(this.flag, { force: true });
  }
}

export interface SlurmJob {
  id: string;
  name: string;
  state: string;
  workDir: string;
}

/** What SLURM itself lists for jobs run in directories under `root` (the real clients, real config). */
export function slurmJobsUnder(root: string): SlurmJob[] {
  const out = execFileSync('squeue', ['--noheader', '--states=all', '--me', '--format=%i|%T|%Z|%j'], {
    encoding: 'utf8',
  });
  return out
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [id = '', state = '', workDir = '', ...name] = line.split('|');
      return { id, state, workDir, name: name.join('|') };
    })
    .filter((job) => job.workDir.startsWith(`${root}${path.sep}`));
}

/** The pid of whatever listens on a local TCP port. */
export function listenerPid(port: number): number {
  const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
  const match = /pid=(\d+)/.exec(out);
  if (!match?.[1]) throw new Error(`nothing listens on port ${port}`);
  return Number(match[1]);
}

/** Polls (every millisecond) for a child of `pid` running `command`; resolves with its pid. */
export async function childRunning(
  pid: number,
  command: string,
  timeoutMs: number,
): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      } catch {
        continue;
      }
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && comm === command) return Number(entry);
    }
    await sleep(1);
  }
  return undefined;
}
