import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ProcessSupervisor, type ProcessSpec } from './process.supervisor';

describe('ProcessSupervisor', () => {
  let dir: string;
  let supervisor: ProcessSupervisor;
  const spec = (name: string): ProcessSpec => ({
    name,
    script: path.join(dir, 'app.js'),
    env: {},
    readyMessages: ['ready'],
  });

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'supervisor-'));
    writeFileSync(
      path.join(dir, 'app.js'),
      "console.log(JSON.stringify({ msg: 'ready' })); setInterval(() => undefined, 1000);\n",
    );
  });

  beforeEach(() => {
    supervisor = new ProcessSupervisor({ cwd: dir });
  });

  afterEach(async () => {
    await supervisor.stopAll();
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('revives exactly the processes killed and not started again', async () => {
    await supervisor.start(spec('a'));
    await supervisor.start(spec('b'));
    await supervisor.start(spec('c'));
    const killedA = supervisor.pid('a');
    await supervisor.kill('a');
    const b = await supervisor.kill('b');
    await supervisor.start(b!);

    expect(supervisor.pid('a')).toBeUndefined();
    expect(await supervisor.reviveKilled()).toEqual(['a']);
    expect(supervisor.pid('a')).not.toBe(killedA);
    expect(supervisor.pid('a')).toBeDefined();
    expect(await supervisor.reviveKilled()).toEqual([]);
  });
});
