import { loadProxyConfig } from './proxy.config';

describe('proxy config', () => {
  it('refuses to start without PROXY_TOKEN, or with a short one', () => {
    expect(() => loadProxyConfig({})).toThrow(/PROXY_TOKEN: is required: at least 32 bytes/);
    expect(() => loadProxyConfig({ PROXY_TOKEN: 'short' })).toThrow(/PROXY_TOKEN: must be at least 32 bytes/);
  });

  it('listens on a socket when PROXY_SOCKET is set', () => {
    expect(
      loadProxyConfig({ PROXY_TOKEN: 'p'.repeat(32), PROXY_SOCKET: '/home/a/.aiplane/run/proxy.sock' }),
    ).toMatchObject({ PROXY_SOCKET: '/home/a/.aiplane/run/proxy.sock' });
  });
});
