/**
 * `aiplane cluster`'s agent: runs on the login node, as the SSH user, from an install made by
 * `cluster up` (`node dist/apps/cli/src/cluster/cluster.agent.js start|stop|status`). It starts the
 * cluster side detached, stops it, and says how it stands, as one JSON line on stdout. Its
 * environment (AIPLANE_ROOT, SCHEDULER, ...) is set on the ssh command line and passed to the
 * stack as is: the agent itself reads only its arguments.
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { TERMINAL_STATUSES } from '@aiplane/contracts';

export interface AgentPaths {
  base: string;
  runtimeDir: string;
  stateDir: string;
  logFile: string;
  pidFile: string;
}

export function agentPaths(home: string): AgentPaths {
  const base = path.join(home, '.aiplane');
  return {
    base,
    runtimeDir: path.join(base, 'run'),
    stateDir: path.join(base, 'state'),
    logFile: path.join(base, 'logs', 'cluster.log'),
    pidFile: path.join(base, 'cluster.pid'),
  };
}

/** What start-stack writes in the runtime dir once the stack without a gateway is ready. */
interface ReadyFile {
  pid: number;
  orchestrator_socket: string;
  proxy_socket: string | null;
  connection_file: string;
}

export interface AgentReport {
  ok: boolean;
  running: boolean;
  message?: string;
  pid?: number;
  root?: string;
  already_running?: boolean;
  orchestrator_socket?: string;
  proxy_socket?: string;
  token?: string;
  log?: string;
  log_tail?: string;
  cancelled?: string[];
  not_ended?: string[];
  left_processes?: number[];
  services?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A JSON file's content, or undefined when it is missing or half-written; callers check its shape. */
function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid file's process, if it is still a start-stack of ours (a reused pid is not). */
function stackPid(paths: AgentPaths): { pid: number; root: string } | undefined {
  const text = existsSync(paths.pidFile) ? readFileSync(paths.pidFile, 'utf8').trim() : '';
  const pid = Number(text);
  if (!/^\d+$/.test(text) || !alive(pid)) return undefined;
  try {
    const cmdline = readFileSync(`/proc/${String(pid)}/cmdline`, 'utf8').split('\0');
    if (!cmdline.some((arg) => arg.endsWith(path.join('tools', 'stack', 'start-stack.js')))) return undefined;
    if (statSync(`/proc/${String(pid)}`).uid !== os.userInfo().uid) return undefined;
    return { pid, root: readlinkSync(`/proc/${String(pid)}/cwd`) };
  } catch {
    return undefined;
  }
}

/** Every process of this user's in the process group `pgid` (the stack's: it was started with setsid). */
export function groupMembers(pgid: number): number[] {
  const uid = os.userInfo().uid;
  const members: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (statSync(`/proc/${name}`).uid !== uid) continue;
      // Fields after the command name, which may hold spaces, start after its closing parenthesis.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) members.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return members;
}

function tailOf(file: string, from = 0, lines = 30): string {
  try {
    const text = readFileSync(file).subarray(from).toString('utf8');
    return text.trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function call(
  socketPath: string,
  token: string,
  method: string,
  urlPath: string,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        socketPath,
        method,
        path: urlPath,
        timeout: 10_000,
        headers: {
          authorization: `Bearer ${token}`,
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: text });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(payload);
  });
}

function tokenOf(ready: ReadyFile): string | undefined {
  return (readJson(ready.connection_file) as { token?: string } | undefined)?.token;
}

/** The running stack's sockets and token, once it is ready and its orchestrator answers through the socket. */
async function readyStack(
  paths: AgentPaths,
  pid: number,
): Promise<{ ready: ReadyFile; token: string } | { problem: string }> {
  const ready = readJson(path.join(paths.runtimeDir, 'stack.json')) as ReadyFile | undefined;
  if (ready?.pid !== pid) return { problem: 'the stack has not written stack.json yet' };
  const token = tokenOf(ready);
  if (token === undefined) return { problem: `${ready.connection_file} has no token` };
  const answer = await call(ready.orchestrator_socket, token, 'GET', '/api/ready').catch(
    (error: unknown) => ({
      status: 0,
      body: error instanceof Error ? error.message : String(error),
    }),
  );
  if (answer.status !== 200) {
    return {
      problem: `the orchestrator's /api/ready said ${String(answer.status)} ${answer.body.slice(0, 300)}`,
    };
  }
  return { ready, token };
}

function reportReady(
  root: string,
  pid: number,
  stack: { ready: ReadyFile; token: string },
  paths: AgentPaths,
  already: boolean,
): AgentReport {
  return {
    ok: true,
    running: true,
    already_running: already,
    pid,
    root,
    orchestrator_socket: stack.ready.orchestrator_socket,
    ...(stack.ready.proxy_socket === null ? {} : { proxy_socket: stack.ready.proxy_socket }),
    token: stack.token,
    log: paths.logFile,
  };
}

export async function start(paths: AgentPaths, root: string, timeoutMs: number): Promise<AgentReport> {
  const running = stackPid(paths);
  if (running !== undefined) {
    if (path.resolve(running.root) !== path.resolve(root)) {
      return {
        ok: false,
        running: true,
        pid: running.pid,
        root: running.root,
        message:
          `another version of the cluster side runs here (pid ${String(running.pid)}, from ${running.root}): ` +
          'run `aiplane cluster down` first, then `cluster up` again',
      };
    }
    const stack = await readyStack(paths, running.pid);
    if ('problem' in stack) {
      return {
        ok: false,
        running: true,
        pid: running.pid,
        message: `the cluster side runs (pid ${String(running.pid)}) but is not ready: ${stack.problem}`,
        log: paths.logFile,
        log_tail: tailOf(paths.logFile),
      };
    }
    return reportReady(root, running.pid, stack, paths, true);
  }
  const logStart = existsSync(paths.logFile) ? statSync(paths.logFile).size : 0;
  const log = openSync(paths.logFile, 'a', 0o600);
  // setsid: its own session and process group, so it outlives this SSH session and can be
  // stopped as one; stdin from /dev/null and the output in the log, so no hang-up reaches it.
  const child = spawn(
    process.execPath,
    [path.join(root, 'dist', 'tools', 'stack', 'start-stack.js'), '--slurm', '--no-gateway'],
    { cwd: root, detached: true, stdio: ['ignore', log, log] },
  );
  closeSync(log);
  const pid = child.pid;
  if (pid === undefined) return { ok: false, running: false, message: 'could not start the stack' };
  writeFileSync(paths.pidFile, `${String(pid)}\n`, { mode: 0o600 });
  let exited: number | null | undefined;
  child.once('exit', (code, signal) => {
    exited = code ?? (signal === null ? null : 128);
  });
  child.unref();
  const deadline = Date.now() + timeoutMs;
  let last = 'nothing yet';
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      rmSync(paths.pidFile, { force: true });
      return {
        ok: false,
        running: false,
        message: `the cluster side exited during start-up (exit code ${String(exited)})`,
        log: paths.logFile,
        log_tail: tailOf(paths.logFile, logStart),
      };
    }
    const stack = await readyStack(paths, pid);
    if (!('problem' in stack)) return reportReady(root, pid, stack, paths, false);
    last = stack.problem;
    await sleep(300);
  }
  await stopGroup(pid, 10_000);
  rmSync(paths.pidFile, { force: true });
  return {
    ok: false,
    running: false,
    message: `the cluster side was not ready within ${String(Math.round(timeoutMs / 1000))} s (${last}); it was stopped`,
    log: paths.logFile,
    log_tail: tailOf(paths.logFile, logStart),
  };
}

/** TERM to the stack, which stops its services; whatever of its group remains after `graceMs` is killed. */
async function stopGroup(pid: number, graceMs: number): Promise<number[]> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // Already gone.
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && (alive(pid) || groupMembers(pid).length > 0)) await sleep(200);
  const left = groupMembers(pid);
  for (const member of left) {
    try {
      process.kill(member, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
  return left;
}

interface Listed {
  id: string;
  status?: string;
  overall_status?: string;
}

// Groups end in the same words (failed, cancelled, completed).
const TERMINAL = new Set<string>(TERMINAL_STATUSES);

function endedOf(entry: Listed): boolean {
  const status = entry.overall_status ?? entry.status ?? '';
  return TERMINAL.has(status);
}

async function listServices(socket: string, token: string): Promise<Listed[]> {
  const answer = await call(socket, token, 'GET', '/api/services');
  if (answer.status !== 200)
    throw new Error(`listing services said ${String(answer.status)} ${answer.body.slice(0, 300)}`);
  return JSON.parse(answer.body) as Listed[];
}

/** Cancels every service and group that has not ended, and waits for their jobs to end. */
async function cancelServices(
  ready: ReadyFile,
  token: string,
  timeoutMs: number,
): Promise<{ cancelled: string[]; notEnded: string[] }> {
  const open = (await listServices(ready.orchestrator_socket, token)).filter((entry) => !endedOf(entry));
  for (const entry of open) {
    const answer = await call(
      ready.orchestrator_socket,
      token,
      'POST',
      `/api/services/${encodeURIComponent(entry.id)}/status`,
      {
        status: 'cancelled',
      },
    );
    if (answer.status !== 200)
      throw new Error(`cancelling ${entry.id} said ${String(answer.status)} ${answer.body.slice(0, 300)}`);
  }
  const ids = new Set(open.map((entry) => entry.id));
  const deadline = Date.now() + timeoutMs;
  let notEnded = [...ids];
  while (notEnded.length > 0 && Date.now() < deadline) {
    await sleep(500);
    const now = await listServices(ready.orchestrator_socket, token);
    notEnded = now.filter((entry) => ids.has(entry.id) && !endedOf(entry)).map((entry) => entry.id);
  }
  return { cancelled: [...ids], notEnded };
}

export async function stop(
  paths: AgentPaths,
  keepServices: boolean,
  timeoutMs: number,
): Promise<AgentReport> {
  const running = stackPid(paths);
  if (running === undefined) {
    const stale = existsSync(paths.pidFile);
    rmSync(paths.pidFile, { force: true });
    return {
      ok: true,
      running: false,
      message: `no cluster side was running here${stale ? ' (removed a stale pid file)' : ''}`,
    };
  }
  let cancelled: string[] = [];
  let notEnded: string[] = [];
  if (!keepServices) {
    const stack = await readyStack(paths, running.pid);
    if ('problem' in stack) {
      return {
        ok: false,
        running: true,
        pid: running.pid,
        message:
          `cannot cancel the services first: ${stack.problem}. Nothing was stopped; ` +
          'run `aiplane cluster down --keep-services` to stop the cluster side and leave its SLURM jobs running',
      };
    }
    ({ cancelled, notEnded } = await cancelServices(stack.ready, stack.token, timeoutMs));
  }
  const left = await stopGroup(running.pid, 30_000);
  rmSync(paths.pidFile, { force: true });
  return {
    ok: notEnded.length === 0,
    running: false,
    pid: running.pid,
    cancelled,
    not_ended: notEnded,
    left_processes: left,
    ...(notEnded.length === 0
      ? {}
      : {
          message: `services ${notEnded.join(', ')} had not ended within ${String(timeoutMs / 1000)} s; check squeue`,
        }),
  };
}

export async function status(paths: AgentPaths): Promise<AgentReport> {
  const running = stackPid(paths);
  if (running === undefined) return { ok: true, running: false };
  const stack = await readyStack(paths, running.pid);
  if ('problem' in stack) {
    return {
      ok: false,
      running: true,
      pid: running.pid,
      root: running.root,
      message: stack.problem,
      log: paths.logFile,
    };
  }
  const services = await listServices(stack.ready.orchestrator_socket, stack.token);
  return {
    ok: true,
    running: true,
    pid: running.pid,
    root: running.root,
    services: services.filter((entry) => !endedOf(entry)).length,
    log: paths.logFile,
  };
}

async function main(argv: readonly string[]): Promise<AgentReport> {
  const [command, ...rest] = argv;
  const flag = (name: string): string | undefined => {
    const at = rest.indexOf(name);
    return at < 0 ? undefined : rest[at + 1];
  };
  const paths = agentPaths(os.homedir());
  const timeoutMs = Number(flag('--timeout-ms') ?? '120000');
  // The agent runs from the install: dist/apps/cli/src/cluster/ is five levels below its root.
  const root = path.resolve(__dirname, '..', '..', '..', '..', '..');
  switch (command) {
    case 'start':
      return start(paths, root, timeoutMs);
    case 'stop':
      return stop(paths, rest.includes('--keep-services'), timeoutMs);
    case 'status':
      return status(paths);
    default:
      return { ok: false, running: false, message: `unknown agent command ${JSON.stringify(command)}` };
  }
}

if (require.main === module) {
  main(process.argv.slice(2))
    .then((report) => {
      process.stdout.write(`${JSON.stringify(report)}\n`);
      process.exitCode = report.ok ? 0 : 1;
    })
    .catch((error: unknown) => {
      process.stdout.write(
        `${JSON.stringify({ ok: false, running: false, message: error instanceof Error ? error.message : String(error) })}\n`,
      );
      process.exitCode = 1;
    });
}
