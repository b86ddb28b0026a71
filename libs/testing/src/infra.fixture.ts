import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** What tools/infra/up.sh provisioned, read from the env file it writes. */
export interface Infra {
  redisUrl: string;
  ssh: { host: string; port: number; user: string; keyPath: string; knownHostsPath: string };
  slurmPartition: string;
}

export const ROOT = path.resolve(__dirname, '..', '..', '..');

function readInfraEnv(): { file: string; values: Record<string, string | undefined> } {
  const dir = process.env.AIPLANE_INFRA_DIR ?? '/var/tmp/aiplane-infra';
  const file = path.join(dir, 'env');
  if (!existsSync(file))
    throw new Error(`${file} is missing: run "bash tools/infra/up.sh" first (npm test does)`);
  const values = Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  ) as Record<string, string | undefined>;
  return { file, values };
}

/**
 * The Redis of the integration tier: `REDIS_URL` when set, else the one `up.sh redis` wrote (a
 * Unix socket with a password, so there is no default address to fall back to).
 */
export function infraRedisUrl(): string {
  if (process.env.REDIS_URL) return process.env.REDIS_URL;
  const { file, values } = readInfraEnv();
  const url = values.REDIS_URL;
  if (!url) throw new Error(`${file} has no REDIS_URL: run "bash tools/infra/up.sh redis"`);
  return url;
}

export function readInfra(): Infra {
  const { file, values } = readInfraEnv();
  const need = (key: string): string => {
    const value = values[key];
    if (!value) throw new Error(`${file} has no ${key}: run "bash tools/infra/up.sh" (all components)`);
    return value;
  };
  return {
    redisUrl: need('REDIS_URL'),
    ssh: {
      host: need('SSH_HOST'),
      port: Number(need('SSH_PORT')),
      user: need('SSH_USER'),
      keyPath: need('SSH_KEY_PATH'),
      knownHostsPath: need('SSH_KNOWN_HOSTS_PATH'),
    },
    slurmPartition: need('SLURM_PARTITION'),
  };
}

export function baseEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };
}

/** Job directories must be visible to SLURM's job processes: not a private test tmp. */
export function makeStateDir(label: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `aiplane-${label}-`));
}

/** A private (0700) directory for a stack's sockets: short, so socket paths fit in sun_path. */
export function makeRuntimeDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'aiplane-run-'));
}

export function uniquePrefix(label: string): string {
  return `e2e-${label}-${process.pid}-${Date.now().toString(36)}`;
}

/** Lines of `squeue` for one job in the states squeue shows by default (pending, running, completing). */
export function squeueActive(jobId: string): string {
  return execFileSync('squeue', ['--noheader', '--jobs', jobId, '--format=%i %T'], {
    encoding: 'utf8',
  }).trim();
}

export function scontrolShowJob(jobId: string): string {
  return execFileSync('scontrol', ['show', 'job', jobId], { encoding: 'utf8' });
}

/** The slurm.conf the SLURM clients of this machine read. */
export function slurmConfPath(): string {
  return process.env.SLURM_CONF ?? '/etc/slurm/slurm.conf';
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
