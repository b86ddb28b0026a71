import { ExecFileCommandRunner } from './command.runner';
import { SchedulerError } from './scheduler.errors';

describe('ExecFileCommandRunner', () => {
  const runner = new ExecFileCommandRunner();

  it('passes arguments verbatim, never through a shell', async () => {
    const arg = `$(echo no) ; echo no | cat "quoted" 'single' \`id\` *`;
    const result = await runner.run('/usr/bin/printf', ['%s', arg]);
    expect(result).toEqual({ stdout: arg, stderr: '', exitCode: 0 });
  });

  it('gives the child exactly the environment passed', async () => {
    const result = await runner.run('/usr/bin/env', [], { env: { ONLY: 'a "b" $(c)\nd' } });
    expect(result.stdout).toBe('ONLY=a "b" $(c)\nd\n');
  });

  it('feeds input and reports a nonzero exit as a result', async () => {
    const result = await runner.run('/bin/sh', ['-c', 'cat; echo err >&2; exit 3'], { input: 'in' });
    expect(result).toEqual({ stdout: 'in', stderr: 'err\n', exitCode: 3 });
  });

  it('runs in the given working directory', async () => {
    const result = await runner.run('/bin/pwd', [], { cwd: '/tmp' });
    expect(result.stdout).toBe('/tmp\n');
  });

  it('turns a timeout into UNAVAILABLE', async () => {
    const started = Date.now();
    const error = await runner.run('/bin/sleep', ['10'], { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchedulerError);
    expect(error).toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringContaining('200 ms') as unknown,
    });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('turns a missing binary into UNAVAILABLE with a clear message', async () => {
    const error = await runner.run('sbatch-does-not-exist', ['--parsable']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchedulerError);
    expect(error).toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringContaining('sbatch-does-not-exist not found') as unknown,
    });
  });

  it('reports death by signal as 128 + signal', async () => {
    const result = await runner.run('/bin/sh', ['-c', 'kill -KILL $$']);
    expect(result.exitCode).toBe(137);
  });
});
