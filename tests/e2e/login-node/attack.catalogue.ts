import * as path from 'node:path';

/** What an attacker on the login node can know about the victim's stack: paths, ports, job ids. */
export interface Target {
  home: string;
  runtimeDir: string;
  stateDir: string;
  /** The orchestrator's TCP listener for compute-node clients (any local user can connect). */
  orchestratorUrl: string;
  /** A's gateway: on A's laptop in production; reachable here, so its Host check is what shows. */
  gatewayUrl: string;
  /** The victim's service: its id (a SLURM job id, which squeue shows everyone). */
  serviceId: string;
  /** The workload front of that job, `http://host:port` (B finds the port with `ss -ltn`). */
  frontUrl: string;
  /** The front of A's Qdrant job, and a collection A keeps in it. */
  qdrantFrontUrl: string;
  collection: string;
}

/**
 * One thing user B tries against user A's stack; to add an attack, add an entry to ATTACKS (the
 * suite runs each as its own test). `command` is argv, run as B through `runuser` with a clean
 * environment (`node(...)` one-liners cover HTTP and sockets). `outcome` is what B's output must
 * show: a refusal, or, where what B reads is public anyway (squeue, ps), that B did read it. Every
 * attack's output is also checked for every secret of A's (token, Redis password, job keys), so an
 * attack only says how it must fail.
 */
export interface Attack {
  name: string;
  command(target: Target): string[];
  outcome: RegExp;
}

/** Connects to a Unix socket as an HTTP client and prints the answer, or the connect error's code. */
const SOCKET_PROBE = `
const http = require('node:http');
const [socketPath, method, urlPath] = process.argv.slice(1);
const req = http.request({ socketPath, method, path: urlPath, headers: { 'content-type': 'application/json' } }, (res) => {
  let body = '';
  res.on('data', (chunk) => { body += chunk; });
  res.on('end', () => { console.log('answered', res.statusCode, body); });
});
req.on('error', (error) => { console.log('refused', error.code); process.exitCode = 3; });
req.end(method === 'POST' ? '{"prompt":"hi"}' : undefined);
`;

/** An HTTP request to a TCP URL with optional extra headers (JSON); prints the status and the body. */
const TCP_PROBE = `
const [url, method, headersJson] = process.argv.slice(1);
const headers = { 'content-type': 'application/json', ...JSON.parse(headersJson || '{}') };
fetch(url, { method, headers, body: method === 'POST' ? '{"model":"m","messages":[],"prompt":"hi"}' : undefined })
  .then(async (res) => { console.log('status', res.status, await res.text()); })
  .catch((error) => { console.log('failed', error.message); process.exitCode = 3; });
`;

/**
 * A request whose head declares a big body, of which only a little is ever sent: a server that
 * answers only after reading the body never answers. Prints the status, how long it took, and how
 * many body bytes had gone out by then. Node's fetch rewrites Host, so this speaks raw HTTP.
 */
const BIG_BODY_PROBE = `
const net = require('node:net');
const [url, urlPath, declared, headersJson] = process.argv.slice(1);
const { hostname, port } = new URL(url);
const given = JSON.parse(headersJson || '{}');
const host = given.host || hostname + ':' + port;
delete given.host;
const extra = Object.entries(given).map(([n, v]) => n + ': ' + v + '\\r\\n').join('');
const started = Date.now();
let sent = 0;
let answer = '';
const socket = net.connect(Number(port), hostname, () => {
  socket.write('POST ' + urlPath + ' HTTP/1.1\\r\\nHost: ' + host + '\\r\\ncontent-type: application/json\\r\\ncontent-length: ' + declared + '\\r\\n' + extra + '\\r\\n');
  const trickle = setInterval(() => {
    if (socket.destroyed || answer || sent >= Number(declared) / 10) return clearInterval(trickle);
    const chunk = Buffer.alloc(Math.min(64 * 1024, Number(declared) - sent), 'a');
    socket.write(chunk); sent += chunk.length;
  }, 50);
});
socket.on('data', (data) => {
  if (!answer) {
    answer = data.toString('latin1');
    console.log('status', answer.split(' ')[1], 'after', Date.now() - started, 'ms with', sent, 'body bytes sent');
    console.log(answer.split('\\r\\n\\r\\n')[1] || '');
    socket.destroy();
  }
});
socket.on('error', (error) => { if (!answer) console.log('failed', error.code); });
setTimeout(() => { if (!answer) console.log('no answer after', Date.now() - started, 'ms'); socket.destroy(); }, 10000).unref();
`;

/** Reads everything B may read about other users' processes: argv and environment. */
const PROC_SCAN = `
const fs = require('node:fs');
let readable = 0;
for (const pid of fs.readdirSync('/proc').filter((name) => /^\\d+$/.test(name))) {
  for (const file of ['cmdline', 'environ']) {
    try { process.stdout.write(fs.readFileSync('/proc/' + pid + '/' + file, 'latin1').replace(/\\0/g, '\\n')); readable += 1; } catch {}
  }
}
console.log('scanned', readable, 'readable /proc files');
`;

const node = (script: string, ...args: string[]): string[] => [process.execPath, '-e', script, ...args];

const socketAttack = (
  name: string,
  socket: (t: Target) => string,
  method: string,
  urlPath: (t: Target) => string,
): Attack => ({
  name,
  command: (t) => node(SOCKET_PROBE, socket(t), method, urlPath(t)),
  // Not even a connection: the directory holding the socket is A's alone.
  outcome: /^refused EACCES/m,
});

const tcpAttack = (name: string, method: string, urlPath: (t: Target) => string, token?: string): Attack => ({
  name,
  command: (t) =>
    node(
      TCP_PROBE,
      `${t.orchestratorUrl}${urlPath(t)}`,
      method,
      JSON.stringify(token ? { authorization: `Bearer ${token}` } : {}),
    ),
  outcome: /^status 401 /m,
});

const redisDir = (t: Target): string => path.join(t.stateDir, 'redis');
const denied = /Permission denied/;

export const ATTACKS: readonly Attack[] = [
  { name: "list A's runtime dir", command: (t) => ['ls', '-la', t.runtimeDir], outcome: denied },
  {
    name: "read A's connection.json (the orchestrator's URL and token)",
    command: (t) => ['cat', path.join(t.runtimeDir, 'connection.json')],
    outcome: denied,
  },
  {
    name: "find A's sockets and files under A's home",
    command: (t) => ['find', path.join(t.home, '.aiplane')],
    outcome: denied,
  },
  socketAttack(
    "list services on A's orchestrator socket",
    (t) => path.join(t.runtimeDir, 'orchestrator.sock'),
    'GET',
    () => '/api/services',
  ),
  socketAttack(
    "prompt A's service through A's proxy socket",
    (t) => path.join(t.runtimeDir, 'proxy.sock'),
    'POST',
    (t) => `/api/services/vllm/${t.serviceId}/prompt`,
  ),
  tcpAttack("list services on A's orchestrator TCP port without a token", 'GET', () => '/api/services'),
  tcpAttack(
    "list services on A's orchestrator TCP port with a wrong token",
    'GET',
    () => '/api/services',
    'f'.repeat(64),
  ),
  tcpAttack(
    "prompt A's service through the orchestrator's TCP port without a token",
    'POST',
    (t) => `/api/services/vllm/${t.serviceId}/prompt`,
  ),
  tcpAttack(
    "use the orchestrator's OpenAI route with a wrong token",
    'POST',
    () => '/v1/chat/completions',
    'x'.repeat(40),
  ),
  {
    name: "send A's orchestrator TCP port a 20 MB body without a token (answered before the body is read)",
    command: (t) => node(BIG_BODY_PROBE, t.orchestratorUrl, '/api/services', String(20 * 1024 * 1024)),
    outcome: /^status (401|413) after \d+ ms/m,
  },
  {
    name: "send A's orchestrator TCP port a 2 MB create body with a wrong token",
    command: (t) =>
      node(
        BIG_BODY_PROBE,
        t.orchestratorUrl,
        '/api/services',
        String(2 * 1024 * 1024),
        JSON.stringify({ authorization: `Bearer ${'e'.repeat(64)}` }),
      ),
    outcome: /^status 401 after \d+ ms/m,
  },
  {
    name: "drive A's gateway from a rebound DNS name (Host: evil.example)",
    command: (t) =>
      node(BIG_BODY_PROBE, t.gatewayUrl, '/api/v1/services', '2', JSON.stringify({ host: 'evil.example' })),
    outcome: /^status 421 /m,
  },
  { name: "list A's state dir", command: (t) => ['ls', '-la', t.stateDir], outcome: denied },
  {
    name: "read A's job logs",
    command: (t) => ['sh', '-c', `cat "${t.stateDir}"/*/*.log "${t.stateDir}"/*/*/*.log`],
    outcome: denied,
  },
  socketAttack(
    "connect to A's Redis socket",
    (t) => path.join(redisDir(t), 'redis.sock'),
    'GET',
    () => '/',
  ),
  {
    name: "PING A's Redis socket with redis-cli",
    command: (t) => ['redis-cli', '-s', path.join(redisDir(t), 'redis.sock'), 'ping'],
    outcome: denied,
  },
  { name: "list A's Redis dir", command: (t) => ['ls', '-la', redisDir(t)], outcome: denied },
  {
    name: "read A's Redis config (its password), AOF and RDB",
    command: (t) => [
      'cat',
      path.join(redisDir(t), 'redis.conf'),
      path.join(redisDir(t), 'data', 'appendonlydir', 'appendonly.aof.1.incr.aof'),
      path.join(redisDir(t), 'data', 'dump.rdb'),
    ],
    outcome: denied,
  },
  {
    name: 'find a Redis on TCP port 6379 (there is none: every Redis here is on a private socket)',
    command: () => ['redis-cli', '-h', '127.0.0.1', '-p', '6379', 'ping'],
    outcome: /Connection refused/,
  },
  {
    name: "plant a file and a symlink in A's state dir",
    command: (t) => [
      'sh',
      '-c',
      `touch "${t.stateDir}/planted"; ln -s /etc/passwd "${t.stateDir}/${t.serviceId}-planted"`,
    ],
    outcome:
      /touch: cannot touch .*Permission denied[\s\S]*ln: failed to create symbolic link .*Permission denied/,
  },
  {
    name: "plant a file and a socket symlink in A's runtime dir",
    command: (t) => [
      'sh',
      '-c',
      `touch "${t.runtimeDir}/planted"; ln -s /tmp/b.sock "${t.runtimeDir}/proxy.sock.planted"`,
    ],
    outcome:
      /touch: cannot touch .*Permission denied[\s\S]*ln: failed to create symbolic link .*Permission denied/,
  },
  {
    name: "scancel A's job",
    command: (t) => ['scancel', t.serviceId],
    outcome: /Access\/permission denied|Permission denied|not owner/i,
  },
  {
    name: "look for A's secrets in `scontrol show job` (which shows B A's job, but no key)",
    command: (t) => ['scontrol', 'show', 'job', t.serviceId],
    outcome: /JobId=\d+ JobName=aiplane-/,
  },
  {
    name: "look for A's secrets in `squeue -o %all`",
    command: () => ['squeue', '-o', '%all'],
    outcome: /aiplane-/,
  },
  {
    name: "look for A's secrets in every process's arguments (ps -eo user,args)",
    command: () => ['ps', '-eo', 'user:32,args'],
    outcome: /^aiplane-a +\S*node/m,
  },
  {
    name: "look for A's secrets in every readable /proc/*/cmdline and /proc/*/environ",
    command: () => node(PROC_SCAN),
    outcome: /^scanned \d+ readable \/proc files/m,
  },
  {
    name: "call A's workload front without a key",
    command: (t) => node(TCP_PROBE, `${t.frontUrl}/v1/models`, 'GET'),
    outcome: /^status 401 /m,
  },
  {
    name: "call A's workload front with a made-up key",
    command: (t) =>
      node(
        TCP_PROBE,
        `${t.frontUrl}/v1/chat/completions`,
        'POST',
        JSON.stringify({ authorization: `Bearer ${'k'.repeat(43)}` }),
      ),
    outcome: /^status 401 /m,
  },
  {
    name: "list the collections of A's Qdrant through its front without a key",
    command: (t) => node(TCP_PROBE, `${t.qdrantFrontUrl}/collections`, 'GET'),
    outcome: /^status 401 /m,
  },
  {
    name: "dump A's collection with a scroll on A's Qdrant front without a key",
    command: (t) => node(TCP_PROBE, `${t.qdrantFrontUrl}/collections/${t.collection}/points/scroll`, 'POST'),
    outcome: /^status 401 /m,
  },
  {
    name: "delete A's collection on A's Qdrant front without a key",
    command: (t) => node(TCP_PROBE, `${t.qdrantFrontUrl}/collections/${t.collection}`, 'DELETE'),
    outcome: /^status 401 /m,
  },
  {
    // The front answers any nonce with its HMAC (that is the point of it); B gets a proof, no key.
    name: "ask A's workload front for a key proof",
    command: (t) => node(TCP_PROBE, `${t.frontUrl}/aiplane/proof?nonce=${'n'.repeat(32)}`, 'GET'),
    outcome: /^status 200 [0-9a-f]{64}\s*$/m,
  },
];
