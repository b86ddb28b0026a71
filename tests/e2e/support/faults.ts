import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import * as path from 'node:path';

/*
 * Faults the e2e suite injects: on its own Redis and its own sshd (so a cut reaches only the
 * suite's connections), and on the machine's real slurmctld.
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

/**
 * A Redis of the suite's own, AOF on and a password as tools/infra/up.sh runs it, that the suite may
 * kill and restart; on a 127.0.0.1 port, as every earlier run of the suite had it.
 */
export class PrivateRedis {
  private child?: ChildProcess;
  private readonly password = randomBytes(32).toString('hex');

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async start(dir: string): Promise<PrivateRedis> {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const redis = new PrivateRedis(await freePort(), dir);
    // In a 0600 file: on the command line every user could read it in ps.
    writeFileSync(path.join(dir, 'redis.conf'), `requirepass ${redis.password}\n`, { mode: 0o600 });
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://:${this.password}@127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts it on the same port and data dir: what it comes back with is what the AOF kept. */
  async restart(): Promise<void> {
    this.child = spawn(
      'redis-server',
      [
        path.join(this.dir, 'redis.conf'),
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
        '--logfile',
        path.join(this.dir, 'redis.log'),
      ],
      { stdio: 'ignore' },
    );
    await until(
      'redis accepts the password',
      async () => (await greeting(this.port, `AUTH ${this.password}\r\n`)) === '+OK\r\n',
    );
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

  get running(): boolean {
    return this.child !== undefined;
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
 * The machine's slurmctld, stopped and started for real. Stopping it is what a controller
 * restart or crash looks like to every client: sbatch, squeue and scancel retry, then fail. Jobs
 * keep running under slurmd, which holds their completions until the controller is back.
 * Started again without -c, so it recovers every job from its state save, as after a crash.
 * Only the fault suite does this, and the e2e tier runs its suites one at a time (--runInBand).
 */
export class SlurmController {
  private constructor(private readonly pidFile: string) {}

  static fromConf(slurmConf: string): SlurmController {
    const line = /^\s*SlurmctldPidFile\s*=\s*(\S+)/im.exec(readFileSync(slurmConf, 'utf8'));
    return new SlurmController(line?.[1] ?? '/run/slurmctld.pid');
  }

  private pid(): number | undefined {
    try {
      const pid = Number(readFileSync(this.pidFile, 'utf8').trim());
      process.kill(pid, 0);
      return pid;
    } catch {
      return undefined;
    }
  }

  /** SIGTERM, as an operator's stop: it saves its state and exits. Resolves once it has. */
  async stop(): Promise<void> {
    const pid = this.pid();
    if (pid === undefined) throw new Error(`slurmctld is not running (no live pid in ${this.pidFile})`);
    process.kill(pid, 'SIGTERM');
    await until(
      'slurmctld exits',
      () => {
        try {
          process.kill(pid, 0);
          return Promise.resolve(false);
        } catch {
          return Promise.resolve(true);
        }
      },
      30_000,
    );
  }

  /** Starts it again (it daemonises) and resolves once `scontrol ping` says it is up. */
  async start(): Promise<void> {
    if (this.pid() === undefined) execFileSync('slurmctld', [], { stdio: 'ignore' });
    await until(
      'slurmctld answers scontrol ping',
      // An async check: scontrol exits non-zero while the controller is down, which must count as "not yet".
      () =>
        Promise.resolve().then(() => /is UP/.test(execFileSync('scontrol', ['ping'], { encoding: 'utf8' }))),
      30_000,
    );
  }
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
