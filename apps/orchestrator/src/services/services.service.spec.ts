import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SchedulerQueueClient } from '@aiplane/jobs';
import type { RecipeCatalogue } from '@aiplane/recipes';
import type { ServiceRegistry, StoredGroup, StoredService } from '@aiplane/registry';
import { createLogger } from '@aiplane/server-kit';
import { storedService } from '@aiplane/testing';
import type { FitService } from '../fit/fit.service';
import { loadOrchestratorConfig } from '../orchestrator.config';
import { ServicesService } from './services.service';

const MiB = 1024 * 1024;

function servicesWith(records: StoredService[], env: Record<string, string> = {}): ServicesService {
  const byId = new Map(records.map((record) => [record.id, record]));
  const registry = {
    get: (id: string) => Promise.resolve(byId.get(id)),
    getGroupView: (groupId: string) => {
      const jobs = records.filter((record) => record.group_id === groupId);
      return Promise.resolve(jobs.length === 0 ? undefined : { group: { id: groupId } as StoredGroup, jobs });
    },
  } as unknown as ServiceRegistry;
  return new ServicesService(
    registry,
    {} as SchedulerQueueClient,
    {} as RecipeCatalogue,
    {} as FitService,
    loadOrchestratorConfig({ ORCHESTRATOR_TOKEN: 'a-test-token-of-at-least-32-bytes!!', ...env }),
    createLogger('orchestrator', 'silent'),
  );
}

describe('ServicesService.logs', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'aiplane-logs-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function jobDir(name: string): string {
    const jobPath = join(dir, name);
    mkdirSync(jobPath, { recursive: true });
    return jobPath;
  }

  it('never follows a stdout.log planted as a symlink to a private key, and says so', async () => {
    const key = join(dir, 'id_ed25519');
    writeFileSync(key, '-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n', { mode: 0o600 });
    const job = jobDir('jobs/s1');
    symlinkSync(key, join(job, 'stdout.log'));
    writeFileSync(join(job, 'stderr.log'), 'loading model\n');

    const { logs } = await servicesWith([storedService('101', { job_dir: job })]).logs('101');

    expect(logs).not.toContain('PRIVATE KEY');
    expect(logs).not.toContain('secret');
    expect(logs).toContain('=== STDOUT ===\n[not read: ');
    expect(logs).toContain('symbolic link');
    expect(logs).toContain('=== STDERR ===\nloading model');
  });

  it('answers at once when a log is a planted FIFO', async () => {
    const job = jobDir('jobs/s2');
    execFileSync('mkfifo', [join(job, 'stderr.log')]);
    const started = Date.now();

    const { logs } = await servicesWith([storedService('102', { job_dir: job })]).logs('102');

    expect(Date.now() - started).toBeLessThan(2_000);
    expect(logs).toContain('=== STDERR ===\n[not read: ');
    expect(logs).toContain('a FIFO');
  });

  it('bounds one answer for a group of many large logs, cutting each visibly and keeping every section', async () => {
    const nodes = 16;
    const replicas = 8;
    const line = `${'x'.repeat(99)}\n`;
    const big = line.repeat(MiB / 4 / line.length);
    const records: StoredService[] = [];
    for (let node = 0; node < nodes; node += 1) {
      const job = jobDir(`jobs/g/n${node}`);
      writeFileSync(join(job, 'stdout.log'), big);
      writeFileSync(join(job, 'stderr.log'), 'short stderr\n');
      for (let replica = 0; replica < replicas; replica += 1)
        writeFileSync(join(job, `replica-${replica}.log`), `${big}last line of ${node}/${replica}\n`);
      records.push(
        storedService(String(200 + node), {
          job_dir: job,
          group_id: 'sg-200',
          node_index: node,
          replicas: Array.from({ length: replicas }, (_, index) => ({
            index,
            gpu_ids: [String(index)],
            endpoint: null,
            ready: false,
            seen_ready: false,
          })),
        }),
      );
    }

    // The default bound: 144 logs of 256 KiB would be 36 MiB.
    const limit = 4 * MiB;
    const { logs } = await servicesWith(records).logs('sg-200', 10_000);

    expect(Buffer.byteLength(logs)).toBeLessThanOrEqual(limit);
    // Every section is there, each cut from the top with a marker, each ending with its last line.
    expect(logs.match(/^=== REPLICA /gm)).toHaveLength(nodes * replicas);
    expect(logs.match(/^=== STDOUT /gm)).toHaveLength(nodes);
    expect(logs.match(/earlier output cut/g)).toHaveLength(nodes + nodes * replicas);
    expect(logs).toContain('last line of 15/7');
    expect(logs).toContain('short stderr');
  });

  it('adds no marker when the lines asked for fit', async () => {
    const job = jobDir('jobs/s3');
    writeFileSync(join(job, 'stdout.log'), `${'y'.repeat(50)}\n`.repeat(200_000));

    const { logs } = await servicesWith([storedService('103', { job_dir: job })]).logs('103', 5);

    expect(logs).not.toContain('earlier output cut');
    expect(logs.split('\n').filter((text) => text.startsWith('yyy'))).toHaveLength(5);
  });
});
