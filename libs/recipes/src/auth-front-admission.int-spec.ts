import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// recipes/runtime/auth_front.py's admission (issue 10, items 4 and 6): the key proof, the connection
// cap, the keyless head deadline and the open-file limit. Real python3 in front of a real HTTP server.
const ROOT = resolve(__dirname, '..', '..', '..');
const FRONT = join(ROOT, 'recipes', 'runtime', 'auth_front.py');
const KEY = `adm-${randomBytes(24).toString('base64url')}`;
const PATH = process.env.PATH ?? '/usr/bin:/bin';

interface Answer {
  status: number;
  body: string;
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolvePromise, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => {
        resolvePromise({ status: res.statusCode ?? 0, body });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function freePort(): Promise<number> {
  const server = createNetServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

interface Front {
  child: ChildProcess;
  port: number;
  stderr: () => string;
  exited: Promise<number | null>;
}

async function startFront(upstream: string[], flags: string[] = [], prefix: string[] = []): Promise<Front> {
  const port = await freePort();
  const argv = [...prefix, 'python3', FRONT, `--listen=127.0.0.1:${port}`, ...upstream, ...flags];
  const child = spawn(argv[0]!, argv.slice(1), {
    env: { PATH, VLLM_API_KEY: KEY },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  return { child, port, stderr: () => stderr, exited };
}

async function startedFront(upstream: string[], flags: string[] = []): Promise<Front> {
  const front = await startFront(upstream, flags);
  await until('auth_front.py listens', async () => {
    if (front.child.exitCode !== null) throw new Error(`auth_front.py exited: ${front.stderr()}`);
    await get(front.port, '/health');
    return true;
  });
  return front;
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

async function openSocket(port: number): Promise<{ socket: Socket; closed: () => boolean }> {
  const socket = connect(port, '127.0.0.1');
  let closed = false;
  socket.on('error', () => undefined);
  socket.on('close', () => {
    closed = true;
  });
  await once(socket, 'connect');
  return { socket, closed: () => closed };
}

const bearer = { authorization: `Bearer ${KEY}` };
const expectedProof = (key: string, nonce: string) =>
  createHmac('sha256', key).update(`aiplane-proof:${nonce}`).digest('hex');

async function keyedLatencyMs(port: number, n: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i += 1) {
    const started = process.hrtime.bigint();
    const answer = await get(port, '/echo', bearer);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    expect(answer.status).toBe(200);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(n / 2)]!;
}

describe('auth_front.py admission: key proof, connection cap, keyless deadline, file limit', () => {
  let dir: string;
  let socketPath: string;
  let upstream: Server;
  let tcpUpstream: Server;
  let tcpPort: number;
  const reached: string[] = [];
  let front: Front;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aiplane-front-adm-'));
    socketPath = join(dir, 'fake.sock');
    const handler = (
      req: { url?: string; headers: Record<string, unknown> },
      res: import('node:http').ServerResponse,
    ) => {
      reached.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, authorization: req.headers.authorization ?? null }));
    };
    upstream = createHttpServer(handler).listen(socketPath);
    tcpUpstream = createHttpServer(handler).listen(0, '127.0.0.1');
    await Promise.all([once(upstream, 'listening'), once(tcpUpstream, 'listening')]);
    const address = tcpUpstream.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    tcpPort = address.port;
    // The defaults the job runs with: cap 512, 3 s for a keyless head.
    front = await startedFront([`--upstream-unix=${socketPath}`]);
  });

  afterAll(async () => {
    await stop(front.child);
    upstream.closeAllConnections();
    upstream.close();
    tcpUpstream.closeAllConnections();
    tcpUpstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('proves it holds the key: HMAC of a fresh nonce, asked without any key, never forwarded', async () => {
    const before = reached.length;
    for (let i = 0; i < 3; i += 1) {
      const nonce = randomBytes(24).toString('hex');
      const answer = await get(front.port, `/aiplane/proof?nonce=${nonce}`);
      expect(answer).toEqual({ status: 200, body: expectedProof(KEY, nonce) });
    }
    // A nonce outside the alphabet or length is refused and names the form.
    const bad = await get(front.port, '/aiplane/proof?nonce=short');
    expect(bad.status).toBe(400);
    expect(bad.body).toContain('nonce=');
    expect(reached.length).toBe(before);
    // Another key's proof does not match: a squatter without this key cannot answer it.
    const nonce = randomBytes(24).toString('hex');
    expect((await get(front.port, `/aiplane/proof?nonce=${nonce}`)).body).not.toBe(
      expectedProof('other', nonce),
    );
  });

  it('cuts an idle keyless connection within a few seconds by default', async () => {
    const { socket, closed } = await openSocket(front.port);
    socket.write('GET /echo HTTP/1.1\r\nHost: x\r\n');
    const started = Date.now();
    try {
      await until('the keyless connection is cut', () => Promise.resolve(closed()), 6_000);
      expect(Date.now() - started).toBeLessThan(4_500);
    } finally {
      socket.destroy();
    }
  });

  it('with the cap (512) full of slow keyless connections, a keyed request is served about as fast as usual', async () => {
    const usual = await keyedLatencyMs(front.port, 21);
    const slow: Awaited<ReturnType<typeof openSocket>>[] = [];
    try {
      for (let i = 0; i < 512; i += 1) {
        const connection = await openSocket(front.port);
        connection.socket.write('GET /echo HTTP/1.1\r\n');
        slow.push(connection);
      }
      await sleep(200);
      const loaded = await keyedLatencyMs(front.port, 21);
      expect(loaded).toBeLessThan(usual + 25);
    } finally {
      for (const connection of slow) connection.socket.destroy();
    }
  }, 30_000);

  it('survives a flood of 1,000 connections and still serves the key holder', async () => {
    const flood: Awaited<ReturnType<typeof openSocket>>[] = [];
    try {
      for (let i = 0; i < 1_000; i += 1) flood.push(await openSocket(front.port));
      const answer = await get(front.port, '/echo', bearer);
      expect(answer.status).toBe(200);
      // At most the cap stays open; the rest were pushed out.
      await sleep(200);
      expect(flood.filter((connection) => !connection.closed()).length).toBeLessThanOrEqual(512);
    } finally {
      for (const connection of flood) connection.socket.destroy();
    }
    expect(front.child.exitCode).toBeNull();
    expect((await get(front.port, '/echo', bearer)).status).toBe(200);
  }, 30_000);

  it('forwards to a TCP upstream (Qdrant cannot listen on a Unix socket), key included', async () => {
    const tcpFront = await startedFront([`--upstream-tcp=127.0.0.1:${tcpPort}`]);
    try {
      const answer = await get(tcpFront.port, '/collections', bearer);
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toEqual({ ok: true, authorization: `Bearer ${KEY}` });
      expect((await get(tcpFront.port, '/collections')).status).toBe(401);
      expect(tcpFront.stderr()).toContain(`tcp:127.0.0.1:${tcpPort}`);
    } finally {
      await stop(tcpFront.child);
    }
  });

  it('takes the cap from AUTH_FRONT_MAX_CONNECTIONS and raises its open-file limit to match', async () => {
    const child = spawn('prlimit', ['--nofile=256:4096', 'python3', '-c', CHECK_LIMIT, FRONT], {
      env: { PATH, VLLM_API_KEY: KEY, AUTH_FRONT_MAX_CONNECTIONS: '1000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ max_connections: 1000, soft: 2 * 1000 + 128 + 64 });
  });

  it('refuses to start, saying why, when the hard open-file limit cannot hold the cap', async () => {
    const low = await startFront(
      [`--upstream-unix=${socketPath}`],
      ['--max-connections=512'],
      ['prlimit', '--nofile=200:200'],
    );
    expect(await low.exited).toBe(2);
    expect(low.stderr()).toMatch(/open-file hard limit \(200\) is below the 1216/);
  });
});

// Loads the front as a module and runs its start-up steps up to the listen, printing what it set.
const CHECK_LIMIT = `
import importlib.util, json, resource, sys
spec = importlib.util.spec_from_file_location("auth_front", sys.argv[1])
front = importlib.util.module_from_spec(spec)
spec.loader.exec_module(front)
captured = {}
async def fake_serve(args, key):
    captured["max_connections"] = args.max_connections
    return 0
front.serve = fake_serve
code = front.main(["--listen=127.0.0.1:0", "--upstream-unix=/nonexistent"])
captured["soft"] = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
print(json.dumps(captured))
sys.exit(code)
`;
