import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { baseEnv, ROOT, withStack } from '@aiplane/testing';
import { pythonWithOpenAI } from './support/data-plane.client';

interface Record_ {
  id: string;
  status: string;
}

interface Run {
  code: number | null;
  output: string;
}

const EXAMPLES = [
  'vllm_simple_example',
  'vllm_simple_example_with_metrics',
  'qdrant_simple_example',
  'qdrant_simple_example_with_metrics',
  'vllm_replicas_example',
] as const;

/** Examples of the official clients (`openai`, `@qdrant/js-client-rest`), by language. */
const SDK_EXAMPLES = [
  { name: 'openai_example', languages: ['python', 'typescript'] },
  { name: 'qdrant_native_example', languages: ['typescript'] },
] as const;

const ACTIVE = ['pending', 'configuring', 'running'];
const TS_DIST = path.join(ROOT, 'dist', 'examples', 'ts');

/** Runs a command to completion; never rejects, so that a failure can show what the example printed. */
function run(command: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd: ROOT,
        // Past the examples' own --timeout, so that a stuck example fails and cleans up by itself.
        timeout: 150_000,
        // The Python examples import each other; no __pycache__ left in the source tree.
        env: { ...baseEnv(), PYTHONDONTWRITEBYTECODE: '1' },
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        const failure = error === null ? '' : `--- error ---\n${error.message}\n`;
        resolve({
          code,
          output: `$ ${command} ${args.join(' ')}\n--- stdout ---\n${stdout}--- stderr ---\n${stderr}${failure}`,
        });
      },
    );
  });
}

function expectSuccess(result: Run): void {
  if (result.code !== 0) throw new Error(`exited with ${String(result.code)}\n${result.output}`);
  expect(result.output).toContain('Done.');
}

// The examples a user runs against `npm start`, as child processes against one local stack: each
// must exit 0 and leave nothing running.
describe('examples (local executor, plain HTTP)', () => {
  beforeAll(() => {
    if (!existsSync(path.join(TS_DIST, 'client.js'))) {
      throw new Error(`${TS_DIST} is missing: run "npm run build" first`);
    }
  });
  const suite = withStack(() => ({
    label: 'examples',
    scheduler: 'local',
    ports: { gateway: 18301, orchestrator: 18300 },
  }));
  const { api } = suite;

  function exampleArgs(): string[] {
    return ['--gateway', suite.stack.gatewayUrl, '--timeout', '90'];
  }

  async function expectNothingActive(): Promise<void> {
    const { body } = await api<Record_[]>('GET', '/api/v1/services');
    expect(body.filter((service) => ACTIVE.includes(service.status))).toEqual([]);
  }

  describe.each(EXAMPLES)('%s', (name) => {
    it('runs in Python and cancels what it created', async () => {
      expectSuccess(await run('python3', [path.join('examples', `${name}.py`), ...exampleArgs()]));
      await expectNothingActive();
    });

    it('runs in TypeScript and cancels what it created', async () => {
      expectSuccess(await run(process.execPath, [path.join(TS_DIST, `${name}.js`), ...exampleArgs()]));
      await expectNothingActive();
    });
  });

  describe.each(SDK_EXAMPLES)('$name', ({ name, languages }) => {
    it.each(languages)(
      'runs in %s with the official client and cancels what it created',
      async (language) => {
        const result =
          language === 'python'
            ? // The venv's python: the one interpreter here with the `openai` package.
              await run(pythonWithOpenAI(), [path.join('examples', `${name}.py`), ...exampleArgs()])
            : await run(process.execPath, [path.join(TS_DIST, `${name}.js`), ...exampleArgs()]);
        expectSuccess(result);
        await expectNothingActive();
      },
    );
  });

  it('exits non-zero when the gateway cannot be reached', async () => {
    const unreachable = 'http://127.0.0.1:1';
    const python = await run('python3', ['examples/vllm_simple_example.py', '--gateway', unreachable]);
    expect(python.code).toBe(1);
    expect(python.output).toContain('FAILED');
    const ts = await run(process.execPath, [
      path.join(TS_DIST, 'vllm_simple_example.js'),
      '--gateway',
      unreachable,
    ]);
    expect(ts.code).toBe(1);
    expect(ts.output).toContain('FAILED');
  });
});
