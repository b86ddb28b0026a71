import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DASHBOARDS, loadDashboard } from './dashboards';

// The provisioning script against an HTTP server that answers as Grafana's API does: what it sends,
// in which order, with which token. Grafana itself cannot be installed here.
const SCRIPT = join(__dirname, 'grafana-provision.sh');
const run = promisify(execFile);

interface Received {
  method: string;
  url: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

describe('tools/observability/grafana-provision.sh', () => {
  let server: Server;
  let url = '';
  const received: Received[] = [];
  let refuse = false;

  beforeAll(async () => {
    server = createServer((req, res) => {
      void body(req).then((parsed) => {
        received.push({
          method: req.method ?? '',
          url: req.url ?? '',
          authorization: req.headers.authorization,
          body: parsed,
        });
        if (refuse) {
          res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"invalid API key"}');
          return;
        }
        const dashboard = parsed.dashboard as { uid?: string } | undefined;
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(
            JSON.stringify(dashboard ? { status: 'success', url: `/d/${dashboard.uid ?? ''}/x` } : { id: 1 }),
          );
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  });

  afterAll(async () => {
    server.close();
    await once(server, 'close');
  });

  it('creates the folder and the datasource, and puts every dashboard by uid with the token', async () => {
    received.length = 0;
    const { stdout } = await run('bash', [SCRIPT, url], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GRAFANA_TOKEN: 'glsa_test',
        PROMETHEUS_URL: 'http://127.0.0.1:9090',
      },
    });
    expect(received.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST /api/folders',
      'POST /api/datasources',
      ...DASHBOARDS.map(() => 'POST /api/dashboards/db'),
    ]);
    expect(new Set(received.map((r) => r.authorization))).toEqual(new Set(['Bearer glsa_test']));
    expect(received[1]?.body).toMatchObject({
      type: 'prometheus',
      uid: 'aiplane-prometheus',
      url: 'http://127.0.0.1:9090',
    });
    const posted = received.slice(2).map((r) => r.body);
    // The script walks the directory in name order.
    expect(posted.map((b) => (b.dashboard as { uid: string }).uid).sort()).toEqual(
      DASHBOARDS.map((name) => loadDashboard(name).uid).sort(),
    );
    for (const b of posted) expect(b).toMatchObject({ folderUid: 'aiplane', overwrite: true });
    expect(stdout).toContain(`control-plane: ${url}/d/aiplane-control-plane/x`);
  });

  it('fails with what Grafana answered when it refuses, and refuses to run without a token', async () => {
    refuse = true;
    try {
      await expect(
        run('bash', [SCRIPT, url], {
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GRAFANA_TOKEN: 'bad' },
        }),
      ).rejects.toMatchObject({
        stderr: expect.stringContaining('answered 401: {"message":"invalid API key"}') as unknown,
      });
    } finally {
      refuse = false;
    }
    await expect(
      run('bash', [SCRIPT, url], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } }),
    ).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('GRAFANA_TOKEN must hold') as unknown,
    });
  });
});
