import { execFile, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DOCUMENT_CREATE_REQUESTS, DOCUMENT_EXAMPLES_VLLM_REFUSES } from '@aiplane/contracts';
import { baseEnv, ROOT, waitForStatus, waitUntil, withStack } from '@aiplane/testing';

// The built CLI (`node bin/aiplane`, what `npx aiplane` runs) against a whole local stack: every
// command's table and --json, the exit code of every error a user can cause, and the interactive
// parts (the chat REPL, the live progress line of `wait`) driven in a tmux pseudo-terminal.

const BIN = path.join(ROOT, 'bin', 'aiplane');
const MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';
const TOKEN_LATENCY_MS = 40;
const SMALL = ['--gpu', '0', '--cpu', '1', '--memory', '1G'];
const HUB_FIXTURES = path.join(ROOT, 'apps', 'orchestrator', 'src', 'models', '__fixtures__');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A stand-in Hugging Face Hub (there is no internet here): the orchestrator's fixtures, and a 500 on demand. */
async function startHub(): Promise<{ url: string; server: Server }> {
  const fixture = (name: string): string => readFileSync(path.join(HUB_FIXTURES, name), 'utf8');
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://hub');
    const send = (status: number, body: string): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    };
    if (url.pathname === '/api/models' && url.searchParams.get('search') === 'explode')
      send(500, '{"error":"boom"}');
    else if (url.pathname === '/api/models') send(200, fixture('hub-search-qwen.json'));
    else if (url.pathname === '/api/models/Qwen/Qwen2.5-7B-Instruct')
      send(200, fixture('hub-model-qwen2.5-7b-instruct.json'));
    else send(401, fixture('hub-error-401-repo-not-found.json'));
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`, server };
}

/** A port nothing listens on: bound by the OS, then released. */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A tmux session on a socket of this suite's own, 120×30, for what a person would see. */
class Terminal {
  private static count = 0;
  /** Its own server socket, removed with the last session, so nothing is left in tmux's directory. */
  static readonly socket = path.join(os.tmpdir(), `aiplane-cli-e2e-${String(process.pid)}.tmux`);
  readonly name = `t${String((Terminal.count += 1))}`;

  start(command: string): void {
    // The exit code is printed and the pane kept, so a test can read how the command ended.
    this.tmux(
      'new-session',
      '-d',
      '-s',
      this.name,
      '-x',
      '120',
      '-y',
      '30',
      `${command}; echo "[exit $?]"; sleep 600`,
    );
  }

  keys(...keys: string[]): void {
    this.tmux('send-keys', '-t', this.name, ...keys);
  }

  screen(): string {
    // -J joins the rows a long line wraps onto, so a line reads as the program wrote it.
    return this.tmux('capture-pane', '-p', '-J', '-t', this.name);
  }

  async waitFor(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.screen();
      if (pattern.test(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`the screen never showed ${String(pattern)}:\n${screen}`);
      await sleep(100);
    }
  }

  kill(): void {
    try {
      this.tmux('kill-session', '-t', this.name);
    } catch {
      // Already gone.
    }
    try {
      this.tmux('has-session');
    } catch {
      // No session left: the server has gone, its socket may not have.
      rmSync(Terminal.socket, { force: true });
    }
  }

  private tmux(...args: string[]): string {
    return execFileSync('tmux', ['-S', Terminal.socket, ...args], {
      encoding: 'utf8',
      env: { ...baseEnv(), TERM: 'xterm-256color', NO_COLOR: '1' },
    });
  }
}

describe('the aiplane CLI, built, against a running stack (local executor)', () => {
  let hubUrl = '';
  let hub: Server | undefined;
  beforeAll(async () => {
    ({ url: hubUrl, server: hub } = await startHub());
  });
  afterAll(() => {
    hub?.close();
  });

  const suite = withStack(() => ({
    label: 'cli',
    scheduler: 'local',
    ports: { gateway: 0 },
    env: { HF_HUB_URL: hubUrl },
  }));
  const { api } = suite;
  const ids = { chat: '', group: '' };
  const terminals: Terminal[] = [];

  const env = (): NodeJS.ProcessEnv => ({ ...baseEnv(), NO_COLOR: '1', AIPLANE_URL: suite.stack.gatewayUrl });

  /** Runs the built binary to its end; never throws on a non-zero exit. */
  function cli(args: readonly string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<Run> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [BIN, ...args],
        { cwd: options.cwd ?? ROOT, env: env(), timeout: options.timeoutMs ?? 60_000, encoding: 'utf8' },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
          resolve({ code, stdout, stderr });
        },
      );
    });
  }

  const json = (run: Run): unknown => {
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    return JSON.parse(run.stdout);
  };

  const createService = async (environment: Record<string, string>): Promise<string> => {
    const response = await api<{ id: string }>('POST', '/api/v1/services', {
      recipe_name: 'inference/vllm-single-node',
      config: {
        environment: { VLLM_MODEL: MODEL, ...environment },
        resources: { gpu: 0, cpu: 1, memory: '1G' },
      },
    });
    expect(response.status).toBe(200);
    return response.body.id;
  };

  const terminal = (): Terminal => {
    const created = new Terminal();
    terminals.push(created);
    return created;
  };

  beforeAll(async () => {
    ids.chat = await createService({ SIM_TOKEN_LATENCY_MS: String(TOKEN_LATENCY_MS), VLLM_PORT: '29231' });
    const group = await api<{ id: string }>('POST', '/api/v1/services', {
      recipe_name: 'inference/vllm-replicas',
      config: { resources: { gpu: 2 }, gpu_per_replica: 1, base_port: 29241 },
    });
    expect(group.status).toBe(200);
    ids.group = group.body.id;
    await Promise.all([
      waitForStatus(api, ids.chat, ['running']),
      waitForStatus(api, ids.group, ['running']),
    ]);
  });

  afterAll(() => {
    for (const opened of terminals) opened.kill();
  });

  it('runs as `npx aiplane` from the clone root and from a subdirectory, with the exit codes in its help', async () => {
    for (const cwd of [ROOT, path.join(ROOT, 'apps', 'gateway')]) {
      const run = await new Promise<Run>((resolve) => {
        execFile(
          'npx',
          ['--no-install', 'aiplane', '--help'],
          { cwd, env: env(), encoding: 'utf8' },
          (error, stdout, stderr) => {
            resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
          },
        );
      });
      expect({ cwd, code: run.code }).toEqual({ cwd, code: 0 });
      expect(run.stdout).toMatch(/Usage: aiplane/);
      expect(run.stdout).toMatch(/Exit codes:[\s\S]*3 +the gateway is unreachable/);
    }
  });

  it('lists and shows recipes as tables and as JSON', async () => {
    const table = await cli(['recipes', 'ls']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/RECIPE.*DESCRIPTION/);
    expect(table.stdout).toContain('inference/vllm-single-node');
    const list = json(await cli(['recipes', 'ls', '--json'])) as { path: string }[];
    expect(list.map((recipe) => recipe.path)).toEqual(
      expect.arrayContaining(['inference/vllm-single-node', 'inference/vllm-replicas', 'vector-db/qdrant']),
    );

    const shown = await cli(['recipes', 'show', 'vllm-single-node']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/environment.*VLLM_MODEL=/s);
    expect(
      (json(await cli(['--json', 'recipes', 'show', 'inference/vllm-single-node'])) as { path: string }).path,
    ).toBe('inference/vllm-single-node');
  });

  it('searches models and shows one, through the gateway to the Hub', async () => {
    const table = await cli(['models', 'search', 'qwen', '--limit', '5']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/MODEL.*ARCHITECTURE.*VLLM/);
    expect(table.stdout).toContain('Qwen/Qwen2.5-7B-Instruct');
    const found = json(await cli(['models', 'search', 'qwen', '--json'])) as {
      models: { id: string }[];
      total: number;
    };
    expect(found.models.length).toBeGreaterThan(0);

    const info = await cli(['models', 'info', 'Qwen/Qwen2.5-7B-Instruct']);
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/architecture.*Qwen2ForCausalLM/);
    expect(
      (json(await cli(['models', 'info', 'Qwen/Qwen2.5-7B-Instruct', '--json'])) as { id: string }).id,
    ).toBe('Qwen/Qwen2.5-7B-Instruct');
  });

  it('lists and shows services and groups as tables and as JSON', async () => {
    const table = await cli(['services', 'ls']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/ID.*RECIPE.*STATUS/);
    expect(table.stdout).toMatch(new RegExp(`${ids.chat}.*inference/vllm-single-node.*running`));
    const listed = json(await cli(['services', 'ls', '--json'])) as { id: string; status: string }[];
    expect(listed.map((entry) => entry.id)).toEqual(expect.arrayContaining([ids.chat, ids.group]));

    const shown = await cli(['services', 'show', ids.chat]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/status.*running/);
    expect(shown.stdout).toMatch(/endpoint.*http:\/\//);
    expect(shown.stdout).toMatch(/timeline.*submitted.*ago/s);
    const record = json(await cli(['services', 'show', ids.chat, '--json'])) as {
      id: string;
      status: string;
    };
    expect(record).toMatchObject({ id: ids.chat, status: 'running' });

    const groups = await cli(['groups', 'ls']);
    expect(groups.code).toBe(0);
    expect(groups.stdout).toMatch(new RegExp(`${ids.group}.*inference/vllm-replicas.*running.*2/2`));
    const summaries = json(await cli(['groups', 'ls', '--json'])) as { id: string }[];
    expect(summaries.map((group) => group.id)).toContain(ids.group);
    const group = await cli(['groups', 'show', ids.group]);
    expect(group.code).toBe(0);
    expect(group.stdout).toMatch(/REPLICA.*NODE.*PORT.*STATUS/);
    expect(group.stdout.match(/\brunning\b/g)?.length).toBeGreaterThanOrEqual(3);
    expect(
      (json(await cli(['groups', 'show', ids.group, '--json'])) as { node_jobs: unknown[] }).node_jobs,
    ).toHaveLength(1);
  });

  it('prints logs, and with -f keeps printing the lines that arrive', async () => {
    const logs = await cli(['services', 'logs', ids.chat, '--lines', '50']);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/=== STDOUT ===/);
    expect((json(await cli(['services', 'logs', ids.chat, '--json'])) as { logs: string }).logs).toMatch(
      /=== STDERR ===/,
    );

    const follow = spawn(process.execPath, [BIN, 'services', 'logs', ids.chat, '-f', '--lines', '5'], {
      cwd: ROOT,
      env: env(),
    });
    let seen = '';
    follow.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
    });
    try {
      await waitUntil(() => seen.includes('=== STDOUT ==='), 15_000);
      const before = (seen.match(/POST \/v1\/chat\/completions/g) ?? []).length;
      // A request to the workload writes a line to its log after -f started.
      const answer = await api('POST', `/api/v1/vllm/${ids.chat}/prompt`, { prompt: 'hi', max_tokens: 2 });
      expect(answer.status).toBe(200);
      await waitUntil(() => (seen.match(/POST \/v1\/chat\/completions/g) ?? []).length > before, 15_000);
    } finally {
      follow.kill('SIGINT');
    }
    const [code] = (await once(follow, 'exit')) as [number | null];
    expect(code).toBe(130);
  });

  it('answers one message, streamed, for a service and for a model', async () => {
    const byService = await cli(['chat', ids.chat, '-m', 'Say hello', '--max-tokens', '8']);
    expect({ code: byService.code, stderr: byService.stderr }).toEqual({ code: 0, stderr: '' });
    expect(byService.stdout.trim().length).toBeGreaterThan(0);
    const reply = json(
      await cli(['chat', '--model', MODEL, '-m', 'Say hello', '--max-tokens', '8', '--json']),
    ) as { model: string; reply: string; usage: { completion_tokens: number } | null };
    expect(reply.model).toBe(MODEL);
    expect(reply.reply.length).toBeGreaterThan(0);
    expect(reply.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('creates a service and waits, showing its phases, until it runs; then cancels it', async () => {
    const created = await cli(
      [
        'services',
        'create',
        'inference/vllm-single-node',
        ...SMALL,
        '--model',
        MODEL,
        '-e',
        'VLLM_PORT=29261',
        '--wait',
        '--timeout',
        '2m',
      ],
      { timeoutMs: 120_000 },
    );
    expect({ code: created.code, stderr: created.stderr }).toEqual({ code: 0, stderr: '' });
    const id = /created (\d+) /.exec(created.stdout)?.[1] ?? '';
    expect(id).not.toBe('');
    // Not a terminal: one plain line per phase, then the outcome with the phases' lengths.
    expect(created.stdout).toMatch(/^(pending|configuring) · .*elapsed$/m);
    expect(created.stdout).toMatch(
      new RegExp(`service ${id} is running after \\d+s \\(.*→ running\\); endpoint http://`),
    );

    const waited = json(await cli(['services', 'wait', id, '--json'])) as { id: string; status: string };
    expect(waited).toMatchObject({ id, status: 'running' });

    const cancelled = await cli(['services', 'cancel', id]);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toMatch(new RegExp(`^${id}: cancelled`));
    const again = json(await cli(['services', 'cancel', id, '--json'])) as { status: string };
    expect(again.status).toBe('cancelled');
  });

  it('exits 1 with the last log lines when the service fails instead of running', async () => {
    const example = DOCUMENT_CREATE_REQUESTS.all_options.body;
    expect(DOCUMENT_EXAMPLES_VLLM_REFUSES.all_options).toBeDefined();
    const run = await cli(
      ['services', 'create', example.recipe_name, '--config', JSON.stringify(example.config), '--wait'],
      { timeoutMs: 120_000 },
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Last 20 log lines of service \d+:/);
    expect(run.stderr).toMatch(/=== STD(OUT|ERR) ===[\s\S]*max_model_len/);
    expect(run.stderr).toMatch(/aiplane: service \d+ ended failed without running \(.*failed/);
  });

  it('exits 4 for an unknown id, recipe or model, with the gateway’s message', async () => {
    for (const args of [
      ['services', 'show', '999999999'],
      ['services', 'logs', '999999999'],
      ['services', 'wait', '999999999'],
      ['services', 'cancel', '999999999'],
      ['groups', 'show', 'sg-999999999'],
      ['chat', '999999999', '-m', 'hi'],
      ['recipes', 'show', 'inference/no-such-recipe'],
      ['models', 'info', 'nobody/no-such-model'],
      ['chat', '--model', 'no/such-model', '-m', 'hi'],
    ]) {
      const run = await cli(args);
      expect({ args, code: run.code, stdout: run.stdout }).toEqual({ args, code: 4, stdout: '' });
      expect(run.stderr).toMatch(/^aiplane: .+\(HTTP 404\)\n$/s);
    }
  });

  it('exits 2 for a bad flag, argument or value, and sends nothing', async () => {
    const before = await api<unknown[]>('GET', '/api/v1/services');
    for (const args of [
      ['services', 'ls', '--bogus'],
      ['services', 'show', 'abc'],
      ['services', 'logs', ids.chat, '--lines', 'many'],
      ['services', 'wait', ids.chat, '--timeout', 'soon'],
      ['services', 'create', 'vllm-single-node', '-e', 'NOT A PAIR'],
      ['services', 'create', 'vllm-single-node', '--config', '{oops'],
      ['models', 'info', 'gpt2'],
      ['chat'],
      ['--url', 'not a url', 'services', 'ls'],
      ['nonsense'],
    ]) {
      const run = await cli(args);
      expect({ args, code: run.code, stdout: run.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(run.stderr).toMatch(/error: |aiplane: /);
    }
    expect((await api<unknown[]>('GET', '/api/v1/services')).body).toHaveLength(before.body.length);
  });

  it('exits 3 naming the URL when no gateway answers, 5 when the gateway refuses, 6 when it fails', async () => {
    const url = `http://127.0.0.1:${String(await freePort())}`;
    const unreachable = await cli(['--url', url, 'services', 'ls']);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toContain(`cannot reach the gateway at ${url} (ECONNREFUSED)`);
    expect(unreachable.stderr).toContain('npm start');

    // 4 GPUs cannot be shared out 3 per replica: the gateway refuses, and stores nothing.
    const refused = await cli([
      'services',
      'create',
      'inference/vllm-replicas',
      '--config',
      '{"gpu_per_replica": 3}',
    ]);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toMatch(/^aiplane: create inference\/vllm-replicas: .+\(HTTP 400\)\n$/s);

    const failed = await cli(['models', 'search', 'explode']);
    expect(failed.code).toBe(6);
    expect(failed.stderr).toMatch(/^aiplane: model search: .+\(HTTP 50\d\)\n$/s);
  });

  it('chats in a terminal: the reply streams onto the screen, /reset and Ctrl-D work', async () => {
    const screen = terminal();
    screen.start(
      `${process.execPath} ${BIN} --url ${suite.stack.gatewayUrl} chat ${ids.chat} --max-tokens 40`,
    );
    await screen.waitFor(/you>\s*$/m);
    screen.keys('Tell me a story', 'Enter');
    // The reply grows on screen while the model makes it: several different lengths before it is done.
    const lengths = new Set<number>();
    const deadline = Date.now() + 20_000;
    let text = screen.screen();
    while (!/ai> .+\n+you>\s*$/m.test(text) && Date.now() < deadline) {
      const reply = /ai> (.*)$/m.exec(text)?.[1] ?? '';
      if (reply.trim() !== '') lengths.add(reply.length);
      await sleep(50);
      text = screen.screen();
    }
    expect(text).toMatch(/ai> .+\n+you>\s*$/m);
    expect(lengths.size).toBeGreaterThanOrEqual(3);

    screen.keys('/reset', 'Enter');
    await screen.waitFor(/\(conversation forgotten\)/);
    screen.keys('C-d');
    await screen.waitFor(/\[exit 0\]/);
  });

  it('bench: Ctrl-C stops sending and still prints the report of what was measured, then exits 130', async () => {
    // In a terminal, as a person presses it: the live line, then the table marked "(interrupted)".
    const screen = terminal();
    screen.start(
      `${process.execPath} ${BIN} --url ${suite.stack.gatewayUrl} bench ${ids.chat} -c 2 --duration 10m --output-tokens 4`,
    );
    await screen.waitFor(/measure: [1-9]\d* sent, [1-9]\d* ok/);
    screen.keys('C-c');
    const shown = await screen.waitFor(/\[exit 130\]/);
    expect(shown).toMatch(/interrupted; reporting what was measured/);
    expect(shown).toMatch(/requests in [\d.]+ s \(interrupted\)/);
    expect(shown).toMatch(/^TTFT\s+[\d.]+/m);
    expect(shown).toMatch(/interrupted after \d+ requests: the report covers those/);

    // For a script: the whole JSON report on stdout, `interrupted: true`, and the same exit code.
    const bench = spawn(
      process.execPath,
      [BIN, '--json', 'bench', ids.chat, '-c', '2', '--duration', '10m', '--output-tokens', '4'],
      { cwd: ROOT, env: env() },
    );
    let stdout = '';
    let stderr = '';
    bench.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    bench.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await sleep(2_000);
    bench.kill('SIGINT');
    const [code] = (await once(bench, 'exit')) as [number | null];
    expect({ code, stderr }).toEqual({
      code: 130,
      stderr: expect.stringMatching(
        /interrupted; reporting what was measured[\s\S]*interrupted after \d+ requests/,
      ),
    });
    const report = JSON.parse(stdout) as {
      interrupted: boolean;
      requests: { sent: number; succeeded: number; aborted: number };
      ttftMs: { count: number } | null;
    };
    expect(report.interrupted).toBe(true);
    expect(report.requests.succeeded).toBeGreaterThan(0);
    expect(report.ttftMs?.count).toBe(report.requests.succeeded);
    console.log(`cli e2e: bench interrupted after 2 s: ${JSON.stringify(report.requests)}`);
  });

  it('shows one live progress line while waiting, then the phases it went through', async () => {
    // Its simulator takes a few seconds to listen: the service stays configuring meanwhile.
    const id = await createService({ SIM_STARTUP_DELAY_MS: '5000', VLLM_PORT: '29271' });
    const screen = terminal();
    screen.start(`${process.execPath} ${BIN} --url ${suite.stack.gatewayUrl} services wait ${id}`);
    const first = await screen.waitFor(
      /configuring · loading the workload · \d+s in configuring · \d+s elapsed/,
    );
    const later = await screen.waitFor(/configuring · .*[2-9]s in configuring/);
    // Redrawn in place: one progress line on the screen, whatever it says now.
    expect(first.match(/ · \d+s elapsed/g)).toHaveLength(1);
    expect(later.match(/ · \d+s elapsed/g)).toHaveLength(1);
    const done = await screen.waitFor(/\[exit \d+\]/, 30_000);
    expect(done).toMatch(
      new RegExp(`service ${id} is running after \\d+s \\(.*configuring \\d+s → running\\)`),
    );
    expect(done).toContain('[exit 0]');
    expect(done).not.toMatch(/ · \d+s elapsed/);
  });
});

// What only a real queue shows: with the node's 4 GPUs taken, a GPU service waits, and `wait` says
// where it stands (position, SLURM's reason) until its --timeout.
describe('the aiplane CLI on SLURM: a queued service', () => {
  const suite = withStack(() => ({ label: 'cli-slurm', scheduler: 'slurm', ports: { gateway: 0 } }));
  const { api } = suite;
  let queued = '';
  let position: number | null = null;
  const screen = new Terminal();

  beforeAll(async () => {
    const create = async (resources: Record<string, unknown>): Promise<string> => {
      const response = await api<{ id: string }>('POST', '/api/v1/services', {
        recipe_name: 'inference/vllm-single-node',
        config: { resources: { cpu: 1, memory: '1G', ...resources } },
      });
      expect(response.status).toBe(200);
      return response.body.id;
    };
    // The filler takes every GPU; its time limit lets backfill estimate when the next one starts.
    const filler = await create({ gpu: 4, time_limit: 3 });
    await waitForStatus(api, filler, ['running'], 60_000);
    queued = await create({ gpu: 1, time_limit: 2 });
    await waitUntil(
      () => position !== null,
      20_000,
      async () => {
        const { body } = await api<{ queue?: { position: number | null } }>(
          'GET',
          `/api/v1/services/${queued}`,
        );
        position = body.queue?.position ?? null;
      },
    );
  });

  afterAll(() => {
    screen.kill();
  });

  it('shows the queue position and reason on the live line, and exits 7 at --timeout', async () => {
    expect(position).toBe(1);
    screen.start(
      `${process.execPath} ${BIN} --url ${suite.stack.gatewayUrl} services wait ${queued} --timeout 6s`,
    );
    const live = await screen.waitFor(/pending · queue position 1 · \w+.* · \d+s in pending · \d+s elapsed/);
    expect(live.match(/ · \d+s elapsed/g)).toHaveLength(1);
    const done = await screen.waitFor(/\[exit \d+\]/, 20_000);
    expect(done).toMatch(
      new RegExp(`aiplane: service ${queued} is still pending after \\d+s \\(--timeout\\)`),
    );
    expect(done).toContain('[exit 7]');
  });
});
