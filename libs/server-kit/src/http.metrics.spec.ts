import { EventEmitter } from 'node:events';
import type * as http from 'node:http';
import { OVERHEAD_HEADER } from '@aiplane/contracts';
import type { HttpMetrics } from '@aiplane/metrics';
import { CLIENT_CLOSED_STATUS, instrumentHttpServer, noteOverhead } from './http.metrics';

type Observed = Parameters<HttpMetrics['observe']>;

/** A server's request event with just what the instrument uses: no socket, no port. */
function serverWith(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const server = new EventEmitter() as unknown as http.Server;
  server.on('request', handler);
  const observed: Observed[] = [];
  return { server, observed, metrics: { observe: (...args: Observed) => observed.push(args) } };
}

/** The part of a response the instrument and the handlers here use. */
class FakeResponse extends EventEmitter {
  headers: Record<string, unknown> = {};
  headersSent = false;
  statusCode = 200;

  getHeader(name: string): unknown {
    return this.headers[name];
  }

  setHeader(name: string, value: unknown): this {
    this.headers[name] = value;
    return this;
  }

  writeHead(status: number): this {
    this.statusCode = status;
    this.headersSent = true;
    return this;
  }
}

function exchange(server: http.Server, method: string, url: string): FakeResponse {
  const req = { method, url } as http.IncomingMessage;
  const res = new FakeResponse();
  server.emit('request', req, res as unknown as http.ServerResponse);
  return res;
}

describe('instrumentHttpServer', () => {
  it('observes a Nest answer by its route template once the answer is done, the overhead only for the data plane', () => {
    const { server, observed, metrics } = serverWith((_req, res) => {
      res.setHeader(OVERHEAD_HEADER, '1.5');
      res.writeHead(404);
    });
    instrumentHttpServer(server, { hop: 'gateway', metrics, dataPlane: () => false });
    const res = exchange(server, 'GET', '/api/v1/services/77?verbose=1');
    expect(observed).toEqual([]);
    res.emit('close');
    expect(observed).toHaveLength(1);
    const [route, method, status, seconds, overhead] = observed[0] ?? [];
    expect([route, method, status, overhead]).toEqual(['/api/v1/services/:id', 'GET', 404, undefined]);
    expect(seconds).toBeGreaterThanOrEqual(0);
  });

  it('reads the overhead a pass-through hands to writeHead, which keeps no copy of it, from its note', () => {
    const { server, observed, metrics } = serverWith((_req, res) => {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        [OVERHEAD_HEADER]: noteOverhead(res, '0.8'),
      });
    });
    instrumentHttpServer(server, { hop: 'gateway', metrics, dataPlane: () => true });
    exchange(server, 'POST', '/v1/chat/completions').emit('close');
    expect(observed[0]?.slice(0, 3)).toEqual(['/v1/chat/completions', 'POST', 200]);
    expect(observed[0]?.[4]).toBe(0.8);
  });

  it('counts a request whose client left before any answer as 499, not as answered', () => {
    const { server, observed, metrics } = serverWith(() => undefined);
    instrumentHttpServer(server, { hop: 'proxy', metrics, dataPlane: () => true });
    exchange(server, 'POST', '/api/services/vllm/5/v1/completions').emit('close');
    expect(observed[0]?.slice(0, 3)).toEqual([
      '/api/services/vllm/:id/v1/completions',
      'POST',
      CLIENT_CLOSED_STATUS,
    ]);
    expect(observed[0]?.[4]).toBeUndefined();
  });

  it('labels a path no route serves as unmatched, whatever it is', () => {
    const { server, observed, metrics } = serverWith((_req, res) => res.writeHead(404));
    instrumentHttpServer(server, { hop: 'orchestrator', metrics, dataPlane: () => false });
    for (const path of ['/a', '/b/c', '/api/services/1/2/3/4/5']) exchange(server, 'GET', path).emit('close');
    expect(new Set(observed.map(([route]) => route))).toEqual(new Set(['unmatched']));
  });
});
