import { PassThrough } from 'node:stream';
import { createProgram, runProgram } from './cli.program';
import { CliError, EXIT } from './cli.errors';

function io() {
  const out = new PassThrough();
  const err = new PassThrough();
  const text = { out: '', err: '' };
  out.on('data', (chunk: Buffer) => (text.out += chunk.toString()));
  err.on('data', (chunk: Buffer) => (text.err += chunk.toString()));
  return { streams: { out, err, input: new PassThrough() }, text };
}

/** A program with one command that fails as told. */
function program(failure?: Error) {
  const { streams, text } = io();
  const { program: root, ctx } = createProgram(streams);
  root
    .command('try')
    .option('--count <n>', 'a number')
    .action(() => {
      if (failure !== undefined) throw failure;
      ctx.print(`url=${ctx.url()} json=${String(ctx.json())}`);
    });
  return { run: (...args: string[]) => runProgram(root, streams, ['node', 'aiplane', ...args]), text };
}

describe('running a command line', () => {
  it('exits 0 and reads the global flags wherever they are given', async () => {
    const { run, text } = program();
    expect(await run('try', '--json', '--url', 'http://gw:9/')).toBe(EXIT.ok);
    expect(text.out).toBe('url=http://gw:9 json=true\n');
  });

  it('exits 0 for --help, and the help lists the exit codes', async () => {
    const { run, text } = program();
    expect(await run('--help')).toBe(EXIT.ok);
    expect(text.out).toMatch(/Exit codes:\n {2}0 +success/);
    expect(text.out).toMatch(/ 4 +not found/);
  });

  it.each([
    [['try', '--bogus'], /unknown option '--bogus'/],
    [['nothing-like-it'], /unknown command 'nothing-like-it'/],
    [['--url', 'ftp://x', 'try'], /not an http\(s\) URL/],
    [['try', '--count'], /argument missing/],
  ])('exits 2 for %j, with commander’s message', async (args, message) => {
    const { run, text } = program();
    expect(await run(...args)).toBe(EXIT.usage);
    expect(text.err).toMatch(message);
    expect(text.out).toBe('');
  });

  it('exits with a CliError’s code and prints its message alone', async () => {
    const { run, text } = program(new CliError('service 12: Service 12 not found (HTTP 404)', EXIT.notFound));
    expect(await run('try')).toBe(EXIT.notFound);
    expect(text.err).toBe('aiplane: service 12: Service 12 not found (HTTP 404)\n');
  });

  it('exits 70 for a fault of its own, saying so', async () => {
    const { run, text } = program(new RangeError('oops'));
    expect(await run('try')).toBe(EXIT.internal);
    expect(text.err).toMatch(/^aiplane: unexpected error: RangeError: oops/);
  });
});

describe('Ctrl-C', () => {
  it('goes to the command that took it, once; then, or with none, the CLI exits', () => {
    const { streams } = io();
    const { ctx } = createProgram(streams);
    expect(ctx.interrupt()).toBe(false);

    const taken: string[] = [];
    ctx.onInterrupt(() => taken.push('bench'));
    expect(ctx.interrupt()).toBe(true);
    expect(taken).toEqual(['bench']);
    // The second Ctrl-C is the person insisting.
    expect(ctx.interrupt()).toBe(false);

    const release = ctx.onInterrupt(() => taken.push('again'));
    release();
    expect(ctx.interrupt()).toBe(false);
    expect(taken).toEqual(['bench']);
  });
});
