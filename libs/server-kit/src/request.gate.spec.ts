import type * as http from 'node:http';
import { hostName, RequestGate } from './request.gate';

function request(headers: http.IncomingHttpHeaders, method = 'GET', url = '/'): http.IncomingMessage {
  return { headers, method, url } as http.IncomingMessage;
}

describe('RequestGate', () => {
  it.each([
    ['localhost', 'localhost'],
    ['LocalHost:8001', 'localhost'],
    ['127.0.0.1:80', '127.0.0.1'],
    ['[::1]', '[::1]'],
    ['[::1]:8001', '[::1]'],
    ['', undefined],
    [undefined, undefined],
    ['evil.example:80:80', undefined],
    ['user@localhost', undefined],
    ['[::1]x', undefined],
    ['local host', undefined],
  ])('reads the name of Host %p as %p', (header, name) => {
    expect(hostName(header)).toBe(name);
  });

  const gate = new RequestGate({
    hop: 'gateway',
    allowedHosts: ['localhost', '127.0.0.1', '[::1]'],
    refuse: (req) => (req.headers.authorization === 'Bearer ok' ? undefined : 'no token'),
  });

  it('checks Host first, then credentials, then the declared body length against the route', () => {
    expect(gate.check(request({ host: 'evil.example', authorization: 'Bearer ok' }))?.status).toBe(421);
    expect(gate.check(request({ host: 'localhost' }))?.status).toBe(401);
    const create = {
      host: 'localhost',
      authorization: 'Bearer ok',
      'content-length': String(2 * 1024 * 1024),
    };
    expect(gate.check(request(create, 'POST', '/api/v1/services'))).toMatchObject({
      status: 413,
      message: 'Request body is larger than the 1048576 byte limit of this route',
    });
    expect(gate.check(request(create, 'PUT', '/api/v1/vector-db/9/collections/c/points'))).toBeUndefined();
    expect(gate.check(request({ host: 'localhost', authorization: 'Bearer ok' }))).toBeUndefined();
  });

  it('still checks everything after Host on a Host it has seen allowed, and still refuses any other', () => {
    const seen = { host: '127.0.0.1:8001', authorization: 'Bearer ok' };
    for (let i = 0; i < 2; i += 1) expect(gate.check(request(seen))).toBeUndefined();
    expect(gate.check(request({ host: '127.0.0.1:8001' }))?.status).toBe(401);
    const big = { ...seen, 'content-length': String(2 * 1024 * 1024) };
    expect(gate.check(request(big, 'POST', '/api/v1/services'))?.status).toBe(413);
    expect(gate.check(request({ host: 'evil.example:8001', authorization: 'Bearer ok' }))?.status).toBe(421);
    expect(gate.check(request({ authorization: 'Bearer ok' }))?.status).toBe(421);
    expect(gate.check(request(seen))).toBeUndefined();
  });

  it('accepts any Host when no names are configured (the orchestrator, behind its token)', () => {
    const open = new RequestGate({ hop: 'orchestrator' });
    expect(open.check(request({ host: 'login01.cluster' }))).toBeUndefined();
    expect(open.check(request({}))).toBeUndefined();
  });
});
