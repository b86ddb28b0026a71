import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { replicaApiKey } from '@aiplane/registry';
import { ROOT } from '@aiplane/testing';
import { UpstreamClient, UpstreamConnectError, type Workload } from './upstream.client';

// The real auth_front.py (python3) holding replica 0's key, and another user's listener on the port
// of replica 1, whose front died: it answers 200 to anything and relays proof requests to replica
// 0's front, the most it can do without a key. The proxy must send it neither the key nor a prompt.
const FRONT = path.join(ROOT, 'recipes', 'runtime', 'auth_front.py');
const NODE_KEY = 'node-key-0123456789abcdef0123456789abcdef';

function listen(server: http.Server, where: string | number): Promise<void> {
  return new Promise((resolve) => {
    if (typeof where === 'string') server.listen(where, resolve);
    else server.listen(where, '127.0.0.1', resolve);
  });
}

describe('UpstreamClient: a connection carries a key only once its peer proved it holds it', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'aiplane-key-proof-'));
  const workload = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ served: req.url, authorized: req.headers.authorization !== undefined }));
  });
  const seenBySquatter: http.IncomingHttpHeaders[] = [];
  let frontUrl = '';
  const squatter = http.createServer((req, res) => {
    seenBySquatter.push(req.headers);
    void (async () => {
      const proof = req.url?.startsWith('/aiplane/proof')
        ? await (await fetch(`${frontUrl}${req.url}`)).text()
        : '{}';
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(proof) });
      res.end(proof);
    })();
  });
  let front: ChildProcess | undefined;
  const client = new UpstreamClient({ connectTimeoutMs: 3_000, responseTimeoutMs: 5_000 });
  const replica = (endpoint: string, replicaIndex: number): Workload => ({
    endpoint,
    service: { kind: 'vllm', api_key: NODE_KEY },
    replicaIndex,
  });

  beforeAll(async () => {
    const socket = path.join(dir, 'server.sock');
    await listen(workload, socket);
    await listen(squatter, 0);
    const probe = http.createServer();
    await listen(probe, 0);
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    front = spawn('python3', [FRONT, `--listen=127.0.0.1:${String(port)}`, `--upstream-unix=${socket}`], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', VLLM_API_KEY: replicaApiKey(NODE_KEY, 0) },
      stdio: 'ignore',
    });
    frontUrl = `http://127.0.0.1:${String(port)}`;
    for (let i = 0; i < 100; i++) {
      if (
        await fetch(`${frontUrl}/health`).then(
          () => true,
          () => false,
        )
      )
        return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('auth_front.py did not listen');
  });

  afterAll(async () => {
    client.close();
    front?.kill();
    await new Promise((resolve) => squatter.close(resolve));
    await new Promise((resolve) => workload.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves through the front that proves the key, request after request', async () => {
    for (let i = 0; i < 3; i++) {
      const answer = await client.request(replica(frontUrl, 0), 'GET', '/v1/models');
      expect({ status: answer.status, body: JSON.parse(answer.body.toString()) as unknown }).toEqual({
        status: 200,
        body: { served: '/v1/models', authorized: true },
      });
    }
  });

  it("refuses the squatter on a dead replica's port before sending it the key or the prompt", async () => {
    const squatterUrl = `http://127.0.0.1:${String((squatter.address() as AddressInfo).port)}`;
    const call = client.request(replica(squatterUrl, 1), 'POST', '/v1/chat/completions', {
      messages: ['secret prompt'],
    });
    await expect(call).rejects.toBeInstanceOf(UpstreamConnectError);
    await expect(call).rejects.toThrow(/did not prove it holds the workload's key \(a wrong proof\)/);
    // It was asked for a proof (and relayed it), and was sent nothing else.
    expect(seenBySquatter.length).toBeGreaterThan(0);
    for (const headers of seenBySquatter) expect(headers.authorization).toBeUndefined();
  });

  it('refuses a listener that is no front at all (no proof route)', async () => {
    const bare = http.createServer((_req, res) => {
      res.writeHead(404);
      res.end();
    });
    await listen(bare, 0);
    try {
      const url = `http://127.0.0.1:${String((bare.address() as AddressInfo).port)}`;
      await expect(client.request(replica(url, 0), 'GET', '/v1/models')).rejects.toThrow(
        /status HTTP\/1.1 404/,
      );
    } finally {
      await new Promise((resolve) => bare.close(resolve));
    }
  });
});
