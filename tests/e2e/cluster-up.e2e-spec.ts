import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { apiClient, readInfra, squeueActive, waitForStatus, waitUntil, type Infra } from '@aiplane/testing';
import { freePort, runCli, type CliRun } from './support/cluster.cli';
import { ensureUser, removeUser, runAs, type UnixUser } from './login-node/unix-user.runner';

/** Every process on the machine: pid, real and effective uid, and its command line. */
function processes(): { pid: number; uids: number[]; cmdline: string }[] {
  const list: { pid: number; uids: number[]; cmdline: string }[] = [];
  for (const name of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      const uids = (/^Uid:\s+(.*)$/m.exec(status)?.[1] ?? '').split(/\s+/).map(Number);
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      list.push({ pid: Number(name), uids, cmdline });
    } catch {
      // Gone meanwhile.
    }
  }
  return list;
}

/** Every entry under `dir` (symlinks included, not followed). */
function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return lstatSync(full).isDirectory() ? [full, ...walk(full)] : [full];
  });
}

const fail = (run: CliRun): string =>
  `exit ${String(run.status)}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;

/**
 * `aiplane cluster up|down` (issue 12 item 5) against this machine's sshd and SLURM, as a
 * non-root user the suite creates and gives a key of its own: the CLI (here root's, standing in
 * for the researcher's laptop, with a home of its own) installs into the user's ~/.aiplane over
 * SSH, starts the cluster side there detached, and runs the gateway locally over SSH.
 */
describe('aiplane cluster up|down over SSH, as an unprivileged user', () => {
  const run = `${String(process.pid)}-${Date.now().toString(36)}`;
  const laptop = mkdtempSync(path.join(os.tmpdir(), 'aiplane-cluster-laptop-'));
  const sshConfig = path.join(laptop, 'ssh_config');
  const alias = 'aiplane-cluster-e2e';
  let infra: Infra;
  let user: UnixUser | undefined;
  /** The laptop's environment: its own HOME, so nothing lands in root's. */
  const env = { HOME: path.join(laptop, 'home'), LANG: 'C' };
  const cli = (...args: string[]): Promise<CliRun> => runCli(['cluster', ...args, '-F', sshConfig], env);

  beforeAll(() => {
    infra = readInfra();
    // Short and unique: a user name is at most 32 characters.
    user = ensureUser(`aiplane-cu-${Date.now().toString(36).slice(-6)}`);
    // useradd leaves the account locked ('!'), which sshd refuses without PAM; '*' has no password either.
    execFileSync('usermod', ['-p', '*', user.name]);
    mkdirSync(env.HOME, { recursive: true, mode: 0o700 });
    const key = path.join(laptop, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `cluster-e2e-${run}`, '-f', key]);
    const dotSsh = path.join(user.home, '.ssh');
    mkdirSync(dotSsh, { mode: 0o700 });
    writeFileSync(path.join(dotSsh, 'authorized_keys'), readFileSync(`${key}.pub`), { mode: 0o600 });
    chownSync(dotSsh, user.uid, user.uid);
    chownSync(path.join(dotSsh, 'authorized_keys'), user.uid, user.uid);
    writeFileSync(
      sshConfig,
      [
        `Host ${alias}`,
        `  HostName ${infra.ssh.host}`,
        `  Port ${String(infra.ssh.port)}`,
        `  User ${user.name}`,
        `  IdentityFile ${key}`,
        '  IdentitiesOnly yes',
        `  UserKnownHostsFile ${infra.ssh.knownHostsPath}`,
        '  StrictHostKeyChecking yes',
        // The suite's own key logs in as root: the refusal below needs a root login.
        `Host ${alias}-root`,
        `  HostName ${infra.ssh.host}`,
        `  Port ${String(infra.ssh.port)}`,
        '  User root',
        `  IdentityFile ${infra.ssh.keyPath}`,
        '  IdentitiesOnly yes',
        `  UserKnownHostsFile ${infra.ssh.knownHostsPath}`,
        '',
      ].join('\n'),
    );
    chmodSync(sshConfig, 0o600);
    // The user's own key must get in: the infra sshd reads ~/.ssh/authorized_keys since this test came.
    const login = spawnSync('ssh', ['-F', sshConfig, '-o', 'BatchMode=yes', alias, 'id', '-u'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (login.stdout.trim() !== String(user.uid)) {
      throw new Error(
        `ssh as ${user.name} with its own key failed (${login.stderr.trim()}): the sshd on ` +
          `${infra.ssh.host}:${String(infra.ssh.port)} must read users' .ssh/authorized_keys; ` +
          'run `tools/infra/up.sh sshd` to give it the current config',
      );
    }
    // The user must be able to submit jobs, as on a cluster: one tiny job, waited for.
    const probe = runAs(user, [
      'sbatch',
      '--wait',
      '--quiet',
      `--partition=${infra.slurmPartition}`,
      '--output=/dev/null',
      '--wrap=true',
    ]);
    expect(probe).toMatchObject({ status: 0 });
  });

  afterAll(async () => {
    // Whatever a failed test left: the local gateway and the cluster side, through the command itself.
    if (user !== undefined) {
      await cli('down', alias).catch(() => undefined);
      for (const proc of processes().filter((entry) => entry.uids[0] === user?.uid)) {
        try {
          process.kill(proc.pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
      removeUser(user);
      // The jobs' port-lock dir (libs/recipes), which a later user of the same uid would inherit.
      rmSync(`/tmp/aiplane-${String(user.uid)}`, { recursive: true, force: true });
    }
    rmSync(laptop, { recursive: true, force: true });
  });

  it('refuses bad input with a message saying what to do, and does nothing', async () => {
    const badHost = await runCli(['cluster', 'up', '-oProxyCommand=touch /tmp/x'], env);
    expect(badHost.status).toBe(2);
    const injected = await cli('up', 'host;rm');
    expect(injected.status).toBe(2);
    expect(injected.stderr).toContain('is not a host ssh can take');
    const badPort = await cli('up', alias, '--port', '70000');
    expect(badPort.status).toBe(2);
    expect(badPort.stderr).toContain('is not a TCP port: give a number from 1 to 65535');
    // As root on the node: refused before anything is installed or started.
    const asRoot = await cli('up', `${alias}-root`, '--detach');
    expect(asRoot.status).toBe(2);
    expect(asRoot.stderr).toContain('logs in as root: the cluster side runs as your own unprivileged user');
    // A redis-server the node lacks: every missing piece named at once, nothing started.
    const installDir = path.join(user?.home ?? '', '.aiplane', 'install');
    const installed = (): string[] => (existsSync(installDir) ? readdirSync(installDir) : []);
    const before = installed();
    const noRedis = await cli('up', alias, '--detach', '--redis-server', '/nonexistent/redis-server');
    expect(noRedis.status).toBe(5);
    expect(noRedis.stderr).toContain(
      '--redis-server /nonexistent/redis-server is not an executable on the node',
    );
    expect(installed()).toEqual(before.length === 0 ? ['.incoming'] : before);
    expect(
      processes().filter((proc) => proc.uids[0] === user?.uid && proc.cmdline.includes('start-stack')),
    ).toEqual([]);
    const down = await cli('down', alias);
    expect(down.status).toBe(0);
    expect(down.stdout).toContain('no cluster side was running here');
  });

  it('installs into ~/.aiplane, runs the cluster side as the user, serves a CPU-only vLLM through the local gateway, stops it all, and reuses the install next time', async () => {
    if (user === undefined) throw new Error('no user');
    const owner = user;
    const port = await freePort();
    const started = Date.now();
    const up = await cli(
      'up',
      alias,
      '--detach',
      '--port',
      String(port),
      '--partition',
      infra.slurmPartition,
      '--json',
    );
    expect({ status: up.status, out: up.status === 0 ? '' : fail(up) }).toEqual({ status: 0, out: '' });
    const upSeconds = (Date.now() - started) / 1000;
    const result = JSON.parse(up.stdout) as {
      node: string;
      version: string;
      cluster_pid: number;
      installed: string[];
      gateway: { url: string; pid: number };
    };
    // The first up installs the deps and the code (the node's own Node.js is recent enough).
    expect(result.installed).toEqual([expect.stringMatching(/^deps-/), `code-${result.version}`]);
    expect(up.stderr).toMatch(/copying deps-\w+ \(\d+\.\d MB\)/);
    expect(result.gateway.url).toBe(`http://127.0.0.1:${String(port)}`);
    console.log(
      `cluster up (first install): ${upSeconds.toFixed(1)} s; ${up.stderr
        .split('\n')
        .filter((line) => line.includes('copying'))
        .join('; ')}`,
    );

    // The gateway pinned the node the cluster side runs on.
    const pins = JSON.parse(
      readFileSync(path.join(env.HOME, '.local', 'state', 'aiplane', 'ssh-pins.json'), 'utf8'),
    ) as {
      pins: Record<string, { node: string }>;
    };
    expect(pins.pins[`${owner.name}@${infra.ssh.host}:${String(infra.ssh.port)}`]?.node).toBe(result.node);

    const status = await cli('status', alias, '--json');
    expect(JSON.parse(status.stdout)).toMatchObject({
      cluster: { running: true, pid: result.cluster_pid, services: 0 },
      gateway: { running: true, url: result.gateway.url },
    });

    const api = apiClient(result.gateway.url);
    const created = await api<{ id: string; job_id: string }>('POST', '/api/v1/services', {
      recipe_name: 'inference/vllm-single-node',
      config: { gpu: 0, cpu: 1, memory: '2G', time_limit: 10 },
    });
    expect(created.status).toBe(200);
    const id = created.body.id;
    await waitForStatus(api, id, ['running']);
    const answer = await api<{ success: boolean; text: string }>('POST', `/api/v1/vllm/${id}/prompt`, {
      prompt: 'Say hello',
      max_tokens: 8,
    });
    expect(answer).toMatchObject({ status: 200, body: { success: true } });
    const record = await api<{ job_id: string }>('GET', `/api/v1/services/${id}`);
    const jobId = record.body.job_id;
    // The job is the user's: submitted by the user's slurm-worker, not by root.
    expect(
      execFileSync('squeue', ['--noheader', '--jobs', jobId, '--format=%U'], { encoding: 'utf8' }).trim(),
    ).toBe(String(owner.uid));

    // Nothing of the cluster side runs as root: every process from the user's install is the user's,
    // and the stack's process group (the supervisor, Redis, the four apps) is the user's alone.
    const install = path.join(owner.home, '.aiplane', 'install');
    const fromInstall = processes().filter((proc) => proc.cmdline.includes(install));
    expect(fromInstall.length).toBeGreaterThanOrEqual(5);
    expect(fromInstall.filter((proc) => proc.uids.some((uid) => uid !== owner.uid))).toEqual([]);
    const group = spawnSync('pgrep', ['-g', String(result.cluster_pid)], { encoding: 'utf8' })
      .stdout.trim()
      .split('\n')
      .map(Number);
    expect(group.length).toBeGreaterThanOrEqual(6);
    for (const pid of group)
      expect(readFileSync(`/proc/${String(pid)}/status`, 'utf8')).toMatch(
        new RegExp(`^Uid:\\s+${String(owner.uid)}\\s+${String(owner.uid)}\\s`, 'm'),
      );

    // Everything in ~/.aiplane is the user's and private: 0700 dirs, 0600 files (the token, the Redis password).
    const base = path.join(owner.home, '.aiplane');
    const entries = [base, ...walk(base)].filter((entry) => !lstatSync(entry).isSymbolicLink());
    const loose = entries
      .map((entry) => ({ entry, stat: lstatSync(entry) }))
      .filter(({ stat }) => stat.uid !== owner.uid || (stat.mode & 0o077) !== 0)
      .map(({ entry, stat }) => `${(stat.mode & 0o777).toString(8)} uid ${String(stat.uid)} ${entry}`);
    expect(loose).toEqual([]);
    for (const secret of ['run/connection.json', 'state/redis/redis.conf', 'cluster.pid', 'run/stack.json']) {
      expect((lstatSync(path.join(base, secret)).mode & 0o777).toString(8)).toBe('600');
    }
    for (const dir of ['', 'install', 'run', 'state', 'logs']) {
      expect((lstatSync(path.join(base, dir)).mode & 0o777).toString(8)).toBe('700');
    }

    const down = await cli('down', alias, '--json');
    expect({ status: down.status, out: down.status === 0 ? '' : fail(down) }).toEqual({ status: 0, out: '' });
    expect(JSON.parse(down.stdout)).toMatchObject({
      gateway_stopped: true,
      cluster_pid: result.cluster_pid,
      cancelled: [id],
      left_processes: [],
    });
    // The service's job is gone, and so is every process of the user's (the SSH sessions end too).
    expect(squeueActive(jobId)).toBe('');
    await waitUntil(() => processes().every((proc) => proc.uids[0] !== owner.uid), 15_000);
    expect(processes().filter((proc) => proc.pid === result.gateway.pid)).toEqual([]);
    expect(
      (await api('GET', '/health').catch((error: unknown) => ({ status: String(error) }))).status,
    ).not.toBe(200);

    // A second up with the same build reuses the install. --ship-node copies this machine's
    // Node.js (as for a node whose own is missing or too old), and the cluster side runs on it.
    const again = await cli(
      'up',
      alias,
      '--detach',
      '--port',
      String(port),
      '--partition',
      infra.slurmPartition,
      '--ship-node',
      '--json',
    );
    expect({ status: again.status, out: again.status === 0 ? '' : fail(again) }).toEqual({
      status: 0,
      out: '',
    });
    const second = JSON.parse(again.stdout) as { installed: string[]; cluster_pid: number; version: string };
    const nodeName = `node-${process.version}-${process.platform}-${process.arch}`;
    expect(second).toMatchObject({ installed: [nodeName], version: result.version, already_running: false });
    expect(again.stderr).toMatch(
      new RegExp(`deps-\\w+ and code-${result.version}: installed already, reused`),
    );
    expect(again.stderr).not.toMatch(/copying (deps|code)-/);
    expect(readlinkSync(`/proc/${String(second.cluster_pid)}/exe`)).toBe(
      path.join(install, nodeName, 'bin', 'node'),
    );
    // The gateway is running: a second up says so instead of starting another.
    const twice = await cli('up', alias, '--detach', '--port', String(port));
    expect(twice.status).toBe(2);
    expect(twice.stderr).toContain(`a gateway for ${alias} already runs here`);
    const downAgain = await cli('down', alias);
    expect(downAgain.status).toBe(0);
    expect(downAgain.stdout).toContain('Stopped the local gateway.');
    expect(downAgain.stdout).toContain('cancelled 0 service(s)');
    const nothing = await cli('down', alias);
    expect(nothing.status).toBe(0);
    expect(nothing.stdout).toBe(
      'No local gateway for this host was running.\nno cluster side was running here\n',
    );
  });
});
