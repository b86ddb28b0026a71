import fc from 'fast-check';
import {
  InvalidScrapeOriginError,
  scrapeHost,
  scrapeOrigin,
  scrapePrefix,
  scrapeScheme,
} from './scrape-origin';

describe('scrapeOrigin', () => {
  it('takes the X-Forwarded headers when present', () => {
    expect(
      scrapeOrigin(
        {
          forwardedHost: '127.0.0.1:8001',
          forwardedProto: 'https',
          forwardedPrefix: '/api/v1',
          host: 'login-node:8000',
        },
        '/api',
      ),
    ).toEqual({ host: '127.0.0.1:8001', scheme: 'https', prefix: '/api/v1' });
  });

  it("falls back to the request's Host, http and the default prefix", () => {
    expect(scrapeOrigin({ host: 'login-node:8000' }, '/api')).toEqual({
      host: 'login-node:8000',
      scheme: 'http',
      prefix: '/api',
    });
  });

  it("spells out the scheme's default port", () => {
    expect(scrapeOrigin({ host: 'login-node' }, '/api').host).toBe('login-node:80');
    expect(scrapeOrigin({ host: 'login-node', forwardedProto: 'HTTPS' }, '/api')).toMatchObject({
      host: 'login-node:443',
      scheme: 'https',
    });
  });

  it('refuses a request without any host, naming both headers', () => {
    expect(() => scrapeOrigin({}, '/api')).toThrow(/X-Forwarded-Host nor Host/);
  });

  it.each([
    [{ forwardedHost: 'evil"}', host: 'ok:1' }, /X-Forwarded-Host must be/],
    [{ host: 'a b' }, /^Host must be/],
    [{ host: 'ok:1', forwardedProto: 'ftp' }, /X-Forwarded-Proto must be http or https/],
    [{ host: 'ok:1', forwardedPrefix: '/api/../x' }, /X-Forwarded-Prefix must be a path/],
  ])('names the malformed header in its error: %p', (headers, message) => {
    expect(() => scrapeOrigin(headers, '/api')).toThrow(InvalidScrapeOriginError);
    expect(() => scrapeOrigin(headers, '/api')).toThrow(message);
  });
});

describe('scrapeHost', () => {
  it.each([
    ['127.0.0.1:8001', '127.0.0.1:8001'],
    ['localhost:8001', 'localhost:8001'],
    ['Login-01.cluster.example.org', 'Login-01.cluster.example.org:80'],
    ['gpu_node_3:8000', 'gpu_node_3:8000'],
    ['[::1]:8001', '[::1]:8001'],
    ['[fe80::1:2]', '[fe80::1:2]:80'],
    ['[::ffff:127.0.0.1]:8001', '[::ffff:127.0.0.1]:8001'],
    ['host:08001', 'host:8001'],
    ['host:65535', 'host:65535'],
  ])('accepts %s as %s', (value, expected) => {
    expect(scrapeHost(value, 'Host', 'http')).toBe(expected);
  });

  it.each([
    '',
    ':8001',
    'host:',
    'host:0',
    'host:65536',
    'host:123456',
    'host:80:80',
    'a b:80',
    'host/path:80',
    'host?x:80',
    'user@host:80',
    'http://host:80',
    'host,other:80',
    '127.0.0.1:8001, 10.0.0.1:8001',
    '-host:80',
    'host-:80',
    'ho..st:80',
    'host.:80',
    '999.1.1.1:80',
    '1.2.3:80',
    '8001',
    '::1',
    '::1:8001',
    '[::1',
    '[::1]x',
    '[not:an:ip:address:zz]:80',
    '[fe80::1%25eth0]:80',
    '[127.0.0.1]:80',
    `${'a'.repeat(64)}:80`,
    `${'a.'.repeat(130)}a:80`,
    'host\n:80',
    'hôst:80',
  ])('refuses %p', (value) => {
    expect(() => scrapeHost(value, 'X-Forwarded-Host', 'http')).toThrow(
      /^X-Forwarded-Host must be a host name, an IPv4 address or an \[IPv6\] address/,
    );
  });

  it('shows a long refused value cut short', () => {
    expect(() => scrapeHost(`${'x'.repeat(500)} `, 'Host', 'http')).toThrow(/x…"\)$/);
  });

  it('never lets a character outside a host name, brackets, colon or digits through', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (value) => {
        try {
          const host = scrapeHost(value, 'Host', 'http');
          return /^[A-Za-z0-9_.:[\]-]+$/.test(host);
        } catch (error) {
          return error instanceof InvalidScrapeOriginError;
        }
      }),
    );
  });
});

describe('scrapeScheme', () => {
  it.each([
    ['http', 'http'],
    ['https', 'https'],
    ['HTTPS', 'https'],
  ])('accepts %s', (value, expected) => {
    expect(scrapeScheme(value, 'X-Forwarded-Proto')).toBe(expected);
  });

  it.each(['', 'ftp', 'https, http', 'http ', 'ws'])('refuses %p', (value) => {
    expect(() => scrapeScheme(value, 'X-Forwarded-Proto')).toThrow(/X-Forwarded-Proto must be http or https/);
  });
});

describe('scrapePrefix', () => {
  it.each(['/api', '/api/v1', '/cluster/aiplane_1/api.v2~x'])('accepts %s', (value) => {
    expect(scrapePrefix(value, 'X-Forwarded-Prefix')).toBe(value);
  });

  it.each([
    '',
    '/',
    'api',
    '/api/',
    '//api',
    '/api//v1',
    '/api/..',
    '/./api',
    '/api?x=1',
    '/api#x',
    '/api%2Fv1',
    '/a b',
    '/api, /api/v1',
    `/${'a'.repeat(256)}`,
  ])('refuses %p', (value) => {
    expect(() => scrapePrefix(value, 'X-Forwarded-Prefix')).toThrow(/X-Forwarded-Prefix must be a path/);
  });
});
