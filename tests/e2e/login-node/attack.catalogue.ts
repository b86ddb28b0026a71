import * as path from 'node:path';

/** What an attacker on the login node can know about the victim's stack: paths, ports, job ids. */
export interface Target {
  home: string;
  runtimeDir: string;
  stateDir: string;
  /** The orchestrator's TCP listener for compute-node clients (any local user can connect). */
  orchestratorUrl: string;
  /** The victim's service: its id (a SLURM job id, which squeue shows everyone). */
  serviceId: string;
}

/**
 * One thing user B tries against user A's stack; to add an attack, add an entry to ATTACKS (the
 * suite runs each as its own test). `command` is argv, run as B through `runuser` with a clean
 * environment (`node(...)` one-liners cover HTTP and sockets); the attack is refused when B's
 * output matches `refused`. Every attack's output is also checked
 * for the victim's secrets, so an attack only says how it must fail.
 */
export interface Attack {
  name: string;
  command(target: Target): string[];
  refused: RegExp;
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

/** An HTTP request to a TCP URL with an optional bearer token; prints the status and the body. */
const TCP_PROBE = `
const [url, method, token] = process.argv.slice(1);
const headers = { 'content-type': 'application/json' };
if (token) headers.authorization = 'Bearer ' + token;
fetch(url, { method, headers, body: method === 'POST' ? '{"model":"m","messages":[],"prompt":"hi"}' : undefined })
  .then(async (res) => { console.log('status', res.status, await res.text()); })
  .catch((error) => { console.log('failed', error.message); process.exitCode = 3; });
`;

const node = (script: string, ...args: string[]): string[] => [process.execPath, '-e', script, ...args];

const socketAttack = (
  name: string,
  socket: string,
  method: string,
  urlPath: (t: Target) => string,
): Attack => ({
  name,
  command: (t) => node(SOCKET_PROBE, path.join(t.runtimeDir, socket), method, urlPath(t)),
  // Not even a connection: the directory holding the socket is A's alone.
  refused: /^refused EACCES/m,
});

const tcpAttack = (name: string, method: string, urlPath: (t: Target) => string, token?: string): Attack => ({
  name,
  command: (t) => node(TCP_PROBE, `${t.orchestratorUrl}${urlPath(t)}`, method, ...(token ? [token] : [])),
  refused: /^status 401 /m,
});

export const ATTACKS: readonly Attack[] = [
  { name: "list A's runtime dir", command: (t) => ['ls', '-la', t.runtimeDir], refused: /Permission denied/ },
  {
    name: "read A's connection.json (the orchestrator's URL and token)",
    command: (t) => ['cat', path.join(t.runtimeDir, 'connection.json')],
    refused: /Permission denied/,
  },
  {
    name: "find A's sockets and files under A's home",
    command: (t) => ['find', path.join(t.home, '.aiplane')],
    refused: /Permission denied/,
  },
  socketAttack("list services on A's orchestrator socket", 'orchestrator.sock', 'GET', () => '/api/services'),
  socketAttack(
    "prompt A's service through A's proxy socket",
    'proxy.sock',
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
  { name: "list A's state dir", command: (t) => ['ls', '-la', t.stateDir], refused: /Permission denied/ },
  {
    name: "read A's job logs",
    command: (t) => ['sh', '-c', `cat "${t.stateDir}"/*/*.log "${t.stateDir}"/*/*/*.log`],
    refused: /Permission denied/,
  },
];
