import { resolveSshHost } from './ssh-host.resolver';

describe('resolveSshHost', () => {
  it('is the name itself on port 22 without a config', () => {
    expect(resolveSshHost('login.lxp.lu', undefined, '/home/me')).toEqual({
      alias: 'login.lxp.lu',
      host: 'login.lxp.lu',
      port: 22,
      user: undefined,
      identityFiles: [],
      identityAgent: undefined,
      jumps: [],
    });
  });

  it('takes the first value of each directive, Host * last, as OpenSSH does', () => {
    const config =
      'Host mel*\n  Port 8822\n  User a\nHost *\n  Port 22\n  User b\n  IdentityFile ~/.ssh/one\n';
    expect(resolveSshHost('meluxina', config, '/home/me')).toMatchObject({
      port: 8822,
      user: 'a',
      identityFiles: ['/home/me/.ssh/one'],
    });
  });

  it.each([
    ['u1@bastion:2200', { alias: 'bastion', user: 'u1', port: 2200 }],
    ['ssh://u1@bastion:2200', { alias: 'bastion', user: 'u1', port: 2200 }],
    ['[fd00::1]:2200', { alias: 'fd00::1', port: 2200 }],
    ['bastion', { alias: 'bastion', port: 22 }],
  ])('reads the ProxyJump entry %s', (entry, expected) => {
    expect(resolveSshHost('t', `Host t\n  ProxyJump ${entry}\n`, '/h').jumps).toEqual([
      expect.objectContaining(expected),
    ]);
  });

  it('follows a chain of jumps in order, and ProxyJump none means none', () => {
    expect(resolveSshHost('t', 'Host t\n  ProxyJump a,b:2\n', '/h').jumps.map((jump) => jump.alias)).toEqual([
      'a',
      'b',
    ]);
    expect(resolveSshHost('t', 'Host t\n  ProxyJump none\n', '/h').jumps).toEqual([]);
  });

  it('refuses a port that is not one', () => {
    expect(() => resolveSshHost('t', 'Host t\n  Port ssh\n', '/h')).toThrow(
      /port "ssh" is not a port number/,
    );
    expect(() => resolveSshHost('t', 'Host t\n  ProxyJump b:99999\n', '/h')).toThrow(/not a port number/);
  });
});
