import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError } from '@aiplane/config';
import { parseGatewayConfig } from './gateway.config';

describe('parseGatewayConfig', () => {
  it('defaults to a local gateway talking plain HTTP to a local orchestrator', () => {
    expect(parseGatewayConfig({})).toEqual({
      host: '127.0.0.1',
      port: 8001,
      orchestratorUrl: 'http://127.0.0.1:8000',
      orchestratorToken: undefined,
      proxyUrl: 'http://127.0.0.1:8003',
      proxyToken: undefined,
      ssh: undefined,
      upstreamTimeoutMs: 30_000,
      logLevel: 'info',
      logFormat: 'json',
      allowedHosts: ['localhost', '127.0.0.1', '[::1]'],
      dashboardDir: resolve(__dirname, '..', '..', '..', 'dist', 'apps', 'dashboard'),
    });
  });

  it('serves the dashboard from GATEWAY_DASHBOARD_DIR, made absolute, when it is set', () => {
    expect(parseGatewayConfig({ GATEWAY_DASHBOARD_DIR: ' /srv/aiplane-ui ' }).dashboardDir).toBe(
      '/srv/aiplane-ui',
    );
    expect(parseGatewayConfig({ GATEWAY_DASHBOARD_DIR: 'ui-build' }).dashboardDir).toBe(resolve('ui-build'));
  });

  it('switches to SSH mode when SSH_HOST is set', () => {
    const config = parseGatewayConfig({
      SSH_HOST: 'login.lxp.lu',
      SSH_PORT: '8822',
      SSH_USER: 'u100',
      SSH_KEY_PATH: '/home/me/.ssh/id_ed25519',
      SSH_KNOWN_HOSTS_PATH: '/home/me/.ssh/known_hosts',
      ORCHESTRATOR_URL: 'http://mel0001:8000/',
      ORCHESTRATOR_TOKEN: 'secret',
      PROXY_URL: 'http://127.0.0.1:8003/',
      SSH_KEEPALIVE_MS: '5000',
      GATEWAY_STATE_DIR: '/home/me/.local/state/aiplane',
      UPSTREAM_TIMEOUT_MS: '60000',
      LOG_LEVEL: 'debug',
    });
    expect(config).toEqual({
      host: '127.0.0.1',
      port: 8001,
      orchestratorUrl: 'http://mel0001:8000',
      orchestratorToken: 'secret',
      proxyUrl: 'http://127.0.0.1:8003',
      // The stack gives the proxy the orchestrator's token: one secret unless told otherwise.
      proxyToken: 'secret',
      ssh: {
        alias: 'login.lxp.lu',
        host: 'login.lxp.lu',
        port: 8822,
        username: 'u100',
        keyPaths: ['/home/me/.ssh/id_ed25519'],
        keyPathsRequired: true,
        agentSocket: undefined,
        jumps: [],
        knownHostsPath: '/home/me/.ssh/known_hosts',
        keepaliveMs: 5000,
        passphrase: { file: undefined, value: undefined },
        pinPath: '/home/me/.local/state/aiplane/ssh-pins.json',
      },
      upstreamTimeoutMs: 60_000,
      logLevel: 'debug',
      logFormat: 'json',
      allowedHosts: ['localhost', '127.0.0.1', '[::1]'],
      dashboardDir: expect.any(String),
    });
  });

  it('answers the loopback names, its own listen address and GATEWAY_ALLOWED_HOSTS', () => {
    expect(
      parseGatewayConfig({ GATEWAY_HOST: '10.0.0.5', GATEWAY_ALLOWED_HOSTS: ' Gateway.LAN, [fd00::1] ,' })
        .allowedHosts,
    ).toEqual(['localhost', '127.0.0.1', '[::1]', '10.0.0.5', 'gateway.lan', '[fd00::1]']);
    expect(parseGatewayConfig({ GATEWAY_HOST: '0.0.0.0' }).allowedHosts).toEqual([
      'localhost',
      '127.0.0.1',
      '[::1]',
    ]);
    expect(parseGatewayConfig({ GATEWAY_HOST: '::1' }).allowedHosts).toEqual([
      'localhost',
      '127.0.0.1',
      '[::1]',
    ]);
  });

  it('refuses a GATEWAY_ALLOWED_HOSTS entry that is not a host name', () => {
    expect(() => parseGatewayConfig({ GATEWAY_ALLOWED_HOSTS: 'gateway.lan:8001' })).toThrow(
      /GATEWAY_ALLOWED_HOSTS.*comma-separated host names/,
    );
  });

  it('names every SSH variable that is missing in SSH mode', () => {
    expect(() => parseGatewayConfig({ SSH_HOST: 'login.lxp.lu', SSH_USER: 'u100' })).toThrow(ConfigError);
    try {
      parseGatewayConfig({ SSH_HOST: 'login.lxp.lu', SSH_USER: 'u100' });
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain('SSH_KEY_PATH: is required when SSH_HOST is set');
      expect(message).toContain('SSH_KNOWN_HOSTS_PATH: is required when SSH_HOST is set');
      expect(message).not.toContain('SSH_USER');
    }
  });

  describe('with ~/.ssh/config', () => {
    let home: string;
    const write = (text: string): void => {
      writeFileSync(join(home, '.ssh', 'config'), text);
    };

    beforeEach(() => {
      home = mkdtempSync(join(tmpdir(), 'gateway-config-'));
      mkdirSync(join(home, '.ssh'));
    });

    afterEach(() => {
      rmSync(home, { recursive: true, force: true });
    });

    it('resolves an alias: HostName, User, Port, IdentityFile, ProxyJump, known_hosts and state dir from HOME', () => {
      write(
        [
          'Host meluxina',
          '  HostName login.lxp.lu',
          '  User u100',
          '  Port 8822',
          '  IdentityFile ~/.ssh/id_mel',
          '  ProxyJump jump',
          'Host jump',
          '  HostName bastion.example.org',
          '  Port 2200',
          '  IdentityAgent none',
          '  IdentityFile %d/.ssh/id_%h',
          '',
        ].join('\n'),
      );
      const ssh = parseGatewayConfig({
        SSH_HOST: 'meluxina',
        HOME: home,
        SSH_AUTH_SOCK: '/run/agent.sock',
      }).ssh;
      expect(ssh).toMatchObject({
        alias: 'meluxina',
        host: 'login.lxp.lu',
        port: 8822,
        username: 'u100',
        keyPaths: [`${home}/.ssh/id_mel`],
        keyPathsRequired: false,
        agentSocket: '/run/agent.sock',
        knownHostsPath: `${home}/.ssh/known_hosts`,
        pinPath: `${home}/.local/state/aiplane/ssh-pins.json`,
        jumps: [
          {
            alias: 'jump',
            host: 'bastion.example.org',
            port: 2200,
            // No User of its own: the same person.
            username: 'u100',
            keyPaths: [`${home}/.ssh/id_bastion.example.org`],
            agentSocket: undefined,
          },
        ],
      });
    });

    it('lets the SSH_* variables win over the config, as ssh flags do', () => {
      write(
        'Host meluxina\n  HostName login.lxp.lu\n  User u100\n  Port 8822\n  IdentityFile ~/.ssh/id_mel\n',
      );
      const ssh = parseGatewayConfig({
        SSH_HOST: 'meluxina',
        HOME: home,
        SSH_USER: 'u200',
        SSH_PORT: '22',
        SSH_KEY_PATH: '/keys/id',
        SSH_PIN_NODE: 'false',
      }).ssh;
      expect(ssh).toMatchObject({
        username: 'u200',
        port: 22,
        keyPaths: ['/keys/id'],
        keyPathsRequired: true,
      });
      expect(ssh?.pinPath).toBeUndefined();
    });

    it('takes an ssh-agent instead of a key, and still names SSH_USER when nothing gives one', () => {
      write('Host meluxina\n  HostName login.lxp.lu\n');
      expect(() =>
        parseGatewayConfig({ SSH_HOST: 'meluxina', HOME: home, SSH_AUTH_SOCK: '/run/a.sock' }),
      ).toThrow(`SSH_USER: is required when SSH_HOST is set (or set in ${home}/.ssh/config)`);
      expect(
        parseGatewayConfig({ SSH_HOST: 'meluxina', HOME: home, SSH_AUTH_SOCK: '/run/a.sock', SSH_USER: 'u1' })
          .ssh,
      ).toMatchObject({ host: 'login.lxp.lu', port: 22, keyPaths: [], agentSocket: '/run/a.sock' });
    });

    it('refuses ProxyCommand and an SSH_CONFIG_PATH that cannot be read, naming the variable', () => {
      write('Host meluxina\n  ProxyCommand nc %h %p\n');
      expect(() =>
        parseGatewayConfig({ SSH_HOST: 'meluxina', HOME: home, SSH_USER: 'u', SSH_KEY_PATH: '/k' }),
      ).toThrow(/SSH_CONFIG_PATH: .*ProxyCommand, which the gateway does not run; use ProxyJump/);
      expect(() =>
        parseGatewayConfig({
          SSH_HOST: 'x',
          HOME: home,
          SSH_CONFIG_PATH: join(home, 'missing'),
          SSH_USER: 'u',
        }),
      ).toThrow(/SSH_CONFIG_PATH: cannot read .*missing/);
    });
  });

  it('treats empty variables as unset', () => {
    expect(parseGatewayConfig({ SSH_HOST: '', ORCHESTRATOR_TOKEN: '' })).toMatchObject({
      ssh: undefined,
      orchestratorToken: undefined,
    });
  });

  it('sends the proxy its own token when PROXY_TOKEN is set', () => {
    expect(parseGatewayConfig({ ORCHESTRATOR_TOKEN: 'a', PROXY_TOKEN: 'b' })).toMatchObject({
      orchestratorToken: 'a',
      proxyToken: 'b',
    });
    expect(parseGatewayConfig({ ORCHESTRATOR_TOKEN: 'a', PROXY_TOKEN: '' }).proxyToken).toBe('a');
  });

  it.each([
    [{ ORCHESTRATOR_URL: 'https://mel0001:8000' }, 'ORCHESTRATOR_URL'],
    [{ PROXY_URL: 'http://mel0001:8003/api' }, 'PROXY_URL'],
    [{ ORCHESTRATOR_URL: 'http://mel0001:8000/api' }, 'ORCHESTRATOR_URL'],
    [{ ORCHESTRATOR_URL: 'not a url' }, 'ORCHESTRATOR_URL'],
    [{ GATEWAY_PORT: '70000' }, 'GATEWAY_PORT'],
    [{ UPSTREAM_TIMEOUT_MS: '0' }, 'UPSTREAM_TIMEOUT_MS'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
  ])('rejects %p naming %s', (env, name) => {
    expect(() => parseGatewayConfig(env)).toThrow(new RegExp(`${name}:`));
  });
});

describe('parseGatewayConfig LOG_FORMAT', () => {
  it('is json unless pretty is asked for; anything else is refused by name', () => {
    expect(parseGatewayConfig({}).logFormat).toBe('json');
    expect(parseGatewayConfig({ LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(() => parseGatewayConfig({ LOG_FORMAT: 'text' })).toThrow(
      /LOG_FORMAT: must be "json" or "pretty"/,
    );
  });
});
