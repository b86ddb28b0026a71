import * as http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type RunningGateway } from '../testing/gateway-harness';
import { StandInOrchestrator } from '../testing/stand-in-orchestrator';
import { DASHBOARD_CSP } from './dashboard.assets';

// Issue 12, item 2: the real gateway app serving a dashboard build (a stand-in one, written here),
// behind the same Host check as the API.
const INDEX =
  '<!doctype html><title>aiplane</title><script type="module" src="/ui/assets/index-4f2a.js"></script>';
const SCRIPT = 'console.log("dashboard");';
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw request: the path goes on the wire exactly as written (fetch would normalise `..`). */
function send(url: string, path: string, host = '127.0.0.1', method = 'GET'): Promise<Answer> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: Number(port),
      method,
      path,
      setHost: false,
      headers: { host },
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the dashboard at /ui (real gateway app)', () => {
  const upstream = new StandInOrchestrator();
  const dir = mkdtempSync(join(tmpdir(), 'dashboard-build-'));
  let built: RunningGateway;
  let unbuilt: RunningGateway;

  beforeAll(async () => {
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), INDEX);
    writeFileSync(join(dir, 'assets', 'index-4f2a.js'), SCRIPT);
    writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    writeFileSync(join(dir, '.env'), 'SECRET=1');
    await upstream.start();
    const env = {
      ORCHESTRATOR_URL: upstream.url,
      PROXY_URL: upstream.url,
      GATEWAY_ALLOWED_HOSTS: 'gateway.lan',
    };
    built = await startGateway({ ...env, GATEWAY_DASHBOARD_DIR: dir });
    unbuilt = await startGateway({ ...env, GATEWAY_DASHBOARD_DIR: join(dir, 'not-built') });
  });

  afterAll(async () => {
    await built.close();
    await unbuilt.close();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the policy the issue states', () => {
    expect(DASHBOARD_CSP).toBe(CSP);
  });

  it('serves index.html at /ui/ with the CSP, nosniff and no-cache', async () => {
    const answer = await send(built.url, '/ui/');
    expect(answer.status).toBe(200);
    expect(answer.body).toBe(INDEX);
    expect(answer.headers['content-type']).toMatch(/^text\/html/);
    expect(answer.headers['content-security-policy']).toBe(CSP);
    expect(answer.headers['x-content-type-options']).toBe('nosniff');
    expect(answer.headers['cache-control']).toBe('no-cache');
  });

  it.each([
    ['/ui', '/ui/'],
    ['/ui?tab=logs', '/ui/?tab=logs'],
  ])('redirects %s to %s', async (path, location) => {
    const answer = await send(built.url, path);
    expect(answer.status).toBe(301);
    expect(answer.headers.location).toBe(location);
    expect(answer.headers['content-security-policy']).toBe(CSP);
  });

  it('serves hashed assets as immutable, with their type, and other files for revalidation', async () => {
    const script = await send(built.url, '/ui/assets/index-4f2a.js');
    expect(script.status).toBe(200);
    expect(script.body).toBe(SCRIPT);
    expect(script.headers['content-type']).toMatch(/^(text|application)\/javascript/);
    expect(script.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(script.headers['content-security-policy']).toBe(CSP);
    expect(script.headers['x-content-type-options']).toBe('nosniff');
    const icon = await send(built.url, '/ui/favicon.svg');
    expect(icon.status).toBe(200);
    expect(icon.headers['cache-control']).toBe('no-cache');
  });

  it.each(['/ui/services/1000', '/ui/services/sg-1000?tab=chat', '/ui/create'])(
    'answers the app page %s with index.html (a reload of a page of the app works)',
    async (path) => {
      const answer = await send(built.url, path);
      expect(answer.status).toBe(200);
      expect(answer.body).toBe(INDEX);
      expect(answer.headers['content-security-policy']).toBe(CSP);
      expect(answer.headers['cache-control']).toBe('no-cache');
    },
  );

  it('answers a missing file 404 in plain text, not the page', async () => {
    const answer = await send(built.url, '/ui/assets/index-0000.js');
    expect(answer.status).toBe(404);
    expect(answer.headers['content-type']).toMatch(/^text\/plain/);
    expect(answer.body).toContain('is not a file of the dashboard');
  });

  it.each([
    '/ui/../package.json',
    '/ui/assets/../../package.json',
    '/ui/%2e%2e/%2e%2e/package.json',
    '/ui/..%2f..%2fpackage.json',
    '/ui/assets/..%5c..%5cpackage.json',
    '/ui/%2e%2e',
    '/ui/a%00b',
    '/ui/%E0%A4%A',
    '/ui/.env',
  ])('refuses %s with 404, serving nothing from outside or hidden', async (path) => {
    const answer = await send(built.url, path);
    expect(answer.status).toBe(404);
    expect(answer.body).not.toContain('SECRET');
    expect(answer.body).not.toContain('"name"');
    expect(answer.body).not.toBe(INDEX);
  });

  it.each(['evil.example', 'evil.example:8001', '127.0.0.1.nip.io'])(
    'answers a rebound name (%s) 421, like the API',
    async (host) => {
      for (const path of ['/ui', '/ui/', '/ui/assets/index-4f2a.js', '/ui/services/1000']) {
        const answer = await send(built.url, path, host);
        expect(answer.status).toBe(421);
        expect(answer.body).not.toContain('dashboard');
      }
    },
  );

  it.each(['localhost:8001', 'gateway.lan'])('serves an allowed Host (%s)', async (host) => {
    expect((await send(built.url, '/ui/', host)).status).toBe(200);
  });

  it('leaves other methods under /ui to the API’s 404', async () => {
    const answer = await send(built.url, '/ui/', '127.0.0.1', 'POST');
    expect(answer.status).toBe(404);
    expect(answer.body).not.toBe(INDEX);
  });

  it('starts without a build and says at /ui/ how to make one (503), the API unaffected', async () => {
    for (const path of ['/ui/', '/ui/services/1000']) {
      const answer = await send(unbuilt.url, path);
      expect(answer.status).toBe(503);
      expect(answer.headers['content-type']).toMatch(/^text\/plain/);
      expect(answer.body).toContain('The dashboard is not built');
      expect(answer.body).toContain('npm run build');
      expect(answer.body).toContain('GATEWAY_DASHBOARD_DIR');
    }
    expect((await send(unbuilt.url, '/api/v1/services')).status).toBe(200);
  });
});
