import { appendFileSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { followFiles, sizeOf, type LogFile } from './logs.follow';

describe('followFiles', () => {
  let dir: string;
  let files: LogFile[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'aiplane-follow-'));
    files = [
      { heading: '=== STDOUT ===', file: join(dir, 'stdout.log') },
      { heading: '=== STDERR ===', file: join(dir, 'stderr.log') },
    ];
    writeFileSync(files[0]!.file, 'old out\n', { mode: 0o600 });
    writeFileSync(files[1]!.file, '', { mode: 0o600 });
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Everything the follower yields until the job ends, `act` run once the follow began. */
  async function collect(act: () => void, endedAfterChecks = 1): Promise<string[]> {
    const offsets = await Promise.all(files.map(({ file }) => sizeOf(file)));
    let checks = 0;
    const chunks: string[] = [];
    act();
    for await (const chunk of followFiles(files, offsets, new AbortController().signal, () => {
      checks += 1;
      return Promise.resolve(checks >= endedAfterChecks);
    })) {
      chunks.push(chunk);
    }
    return chunks;
  }

  it('yields only what was appended, under the heading of the file it came from when that changes', async () => {
    const chunks = await collect(() => {
      appendFileSync(files[0]!.file, 'new out\n');
      appendFileSync(files[1]!.file, 'an error\n');
    });
    expect(chunks).toEqual(['=== STDOUT ===\nnew out\n', '=== STDERR ===\nan error\n']);
  });

  it('holds back a line still being written, and reads a file cut short from its start', async () => {
    const chunks = await collect(() => {
      appendFileSync(files[0]!.file, 'complete\npart');
      truncateSync(files[1]!.file, 0);
    });
    expect(chunks).toEqual(['=== STDOUT ===\ncomplete\n']);
    truncateSync(files[0]!.file, 0);
    writeFileSync(files[0]!.file, 'restarted\n');
    const offsets = [100, 0];
    const again: string[] = [];
    for await (const chunk of followFiles(files, offsets, new AbortController().signal, () =>
      Promise.resolve(true),
    )) {
      again.push(chunk);
    }
    expect(again).toEqual(['=== STDOUT ===\nrestarted\n']);
  });

  it('sends a flood in bounded pieces, whole lines each', async () => {
    const line = `${'x'.repeat(99)}\n`;
    const chunks = await collect(() => {
      appendFileSync(files[0]!.file, line.repeat(2_000));
    });
    expect(chunks.join('')).toBe(`=== STDOUT ===\n${line.repeat(2_000)}`);
    expect(chunks.length).toBeGreaterThan(2);
    for (const chunk of chunks) expect(chunk.endsWith('\n')).toBe(true);
  });

  it('stops at once when the client goes away', async () => {
    const stop = new AbortController();
    stop.abort();
    const chunks: string[] = [];
    for await (const chunk of followFiles(files, [0, 0], stop.signal, () => Promise.resolve(false))) {
      chunks.push(chunk);
    }
    expect(chunks).toEqual([]);
  });
});
