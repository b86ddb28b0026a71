import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { Server, utils, type Connection } from 'ssh2';
import { startGateway } from '../testing/gateway-harness';
import { StandInOrchestrator } from '../testing/stand-in-orchestrator';
import { channelAsSocket } from './ssh-agent';
import { SshTunnel, type SshTunnelOptions } from './ssh-tunnel';
import type { Prompter } from './terminal.prompter';

/*
 * The SSH setups researchers have, against real OpenSSH servers this suite starts (own configs, host
 * keys and loopback addresses; the shared sshd of tools/infra/up.sh is left alone) and a real
 * ssh-agent. Two sshds on 127.0.0.2 and 127.0.0.3, same port, are two login nodes behind one name;
 * the only stand-ins are that name's resolver (the tunnel's `lookup` hook) and each node's
 * `hostname`, since both nodes are this machine. Keyboard-interactive runs against an ssh2 Server:
 * Debian's sshd offers it only through PAM, and this suite changes nothing in /etc/pam.d.
 */

const NAME = 'login.cluster.test';
const PASSPHRASE = 'correct horse battery staple';
const SSHD = '/usr/sbin/sshd';

let dir: string;
const children: ChildProcess[] = [];

function keygen(file: string, passphrase = ''): string {
  execFileSync('ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    passphrase,
    '-C',
    'gateway-ssh-setups',
    '-f',
    file,
  ]);
  return readFileSync(`${file}.pub`, 'utf8').trim();
}

/** `type base64` of a public key file, for a known_hosts line. */
function publicKey(file: string): string {
  return readFileSync(`${file}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
}

function waitForPort(host: string, port: number, deadlineMs = 10_000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const socket = net.connect(port, host);
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() - started > deadlineMs)
          reject(new Error(`nothing listens on ${host}:${String(port)}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

async function freePort(host: string): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A real sshd, in the foreground so it is this test's child; `hostname` on it answers `node`. */
class Sshd {
  readonly log: string;
  private child: ChildProcess | undefined;

  constructor(
    readonly name: string,
    readonly address: string,
    readonly port: number,
  ) {
    this.log = join(dir, `${name}.log`);
  }

  async start(hostKey: string, node: string): Promise<void> {
    const bin = join(dir, `${this.name}-bin`);
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'hostname'), `#!/bin/sh\necho ${node}\n`, { mode: 0o755 });
    const config = join(dir, `${this.name}.sshd_config`);
    writeFileSync(
      config,
      [
        `ListenAddress ${this.address}:${String(this.port)}`,
        `HostKey ${hostKey}`,
        'PidFile none',
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'PermitRootLogin prohibit-password',
        'AllowTcpForwarding yes',
        'AllowStreamLocalForwarding yes',
        'StrictModes no',
        'LogLevel VERBOSE',
        `SetEnv PATH=${bin}:/usr/bin:/bin`,
        '',
      ].join('\n'),
    );
    const child = spawn(SSHD, ['-D', '-f', config, '-E', this.log], { stdio: 'ignore' });
    children.push(child);
    this.child = child;
    await waitForPort(this.address, this.port);
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGTERM');
    });
  }

  logins(): number {
    return (readFileSync(this.log, 'utf8').match(/Accepted publickey for /g) ?? []).length;
  }
}

/** The person at the terminal, with the answers they will type. */
class ScriptedPerson implements Prompter {
  readonly interactive = true;
  readonly asked: { question: string; echo: boolean }[] = [];
  readonly told: string[] = [];

  constructor(private readonly answers: string[]) {}

  ask(question: string, echo: boolean): Promise<string> {
    this.asked.push({ question, echo });
    return Promise.resolve(this.answers.shift() ?? '');
  }

  tell(text: string): void {
    this.told.push(text);
  }
}

const nobody: Prompter = {
  interactive: false,
  ask: () => Promise.reject(new Error('nobody is at a terminal')),
  tell: () => undefined,
};

function getOver(channel: Duplex, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      path,
      createConnection: () => channelAsSocket(channel),
      headers: { connection: 'close' },
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('real SSH setups', () => {
  let nodeA: Sshd;
  let nodeB: Sshd;
  let jump: Sshd;
  let agentSocket: string;
  let knownHosts: string;
  let socketPath: string;
  let socketServer: http.Server;
  const lookups: string[] = [];
  /** DNS round robin: the name gives node A first, node B every time after. */
  const roundRobin = (host: string): Promise<string[]> => {
    lookups.push(host);
    return Promise.resolve(lookups.length === 1 ? ['127.0.0.2'] : ['127.0.0.3']);
  };
  const tunnels: SshTunnel[] = [];
  const tunnel = (options: Partial<SshTunnelOptions>): SshTunnel => {
    const made = new SshTunnel({
      host: NAME,
      port: nodeA.port,
      username: 'root',
      knownHostsPath: knownHosts,
      keepaliveIntervalMs: 15_000,
      prompter: nobody,
      readyTimeoutMs: 5_000,
      ...options,
    });
    tunnels.push(made);
    return made;
  };
  const reaches = async (made: SshTunnel): Promise<void> => {
    const answer = await getOver(await made.openLocalChannel(socketPath), '/api/services');
    expect(answer).toEqual({ status: 200, body: 'over the socket' });
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gateway-ssh-setups-'));
    chmodSync(dir, 0o700);
    const authorized = [keygen(join(dir, 'id_agent')), keygen(join(dir, 'id_pass'), PASSPHRASE)];
    writeFileSync(join(dir, 'authorized_keys'), `${authorized.join('\n')}\n`);
    for (const key of ['host_a', 'host_a2', 'host_b', 'host_jump']) keygen(join(dir, key));
    const port = await freePort('127.0.0.2');
    nodeA = new Sshd('node-a', '127.0.0.2', port);
    nodeB = new Sshd('node-b', '127.0.0.3', port);
    jump = new Sshd('jump', '127.0.0.1', await freePort('127.0.0.1'));
    knownHosts = join(dir, 'known_hosts');
    // Both nodes' keys are known under the one name, as on a cluster whose nodes each have their own.
    writeFileSync(
      knownHosts,
      [
        `[${NAME}]:${String(port)} ${publicKey(join(dir, 'host_a'))}`,
        `[${NAME}]:${String(port)} ${publicKey(join(dir, 'host_b'))}`,
        `[127.0.0.2]:${String(port)} ${publicKey(join(dir, 'host_a'))}`,
        `[127.0.0.1]:${String(jump.port)} ${publicKey(join(dir, 'host_jump'))}`,
        '',
      ].join('\n'),
    );
    await Promise.all([
      nodeA.start(join(dir, 'host_a'), 'node-a.cluster.test'),
      nodeB.start(join(dir, 'host_b'), 'node-b.cluster.test'),
      jump.start(join(dir, 'host_jump'), 'jump.cluster.test'),
    ]);
    agentSocket = join(dir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', agentSocket], { stdio: 'ignore' });
    children.push(agent);
    await new Promise<void>((resolve, reject) => {
      const started = Date.now();
      const check = (): void => {
        try {
          statSync(agentSocket);
          resolve();
        } catch {
          if (Date.now() - started > 5_000) reject(new Error('ssh-agent did not start'));
          else setTimeout(check, 20);
        }
      };
      check();
    });
    execFileSync('ssh-add', ['-q', join(dir, 'id_agent')], { env: { SSH_AUTH_SOCK: agentSocket } });
    socketPath = join(dir, 'orchestrator.sock');
    socketServer = http.createServer((_req, res) => res.end('over the socket'));
    await new Promise<void>((resolve) => socketServer.listen(socketPath, resolve));
  }, 30_000);

  afterEach(async () => {
    await Promise.all(tunnels.splice(0).map((made) => made.close()));
  });

  afterAll(async () => {
    await Promise.all([nodeA.stop(), nodeB.stop(), jump.stop()]);
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    await new Promise((resolve) => socketServer.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  describe('credentials', () => {
    it('logs in with the ssh-agent alone, no key file given', async () => {
      const made = tunnel({ host: '127.0.0.2', agentSocket });
      await reaches(made);
    });

    it('goes on to the key file when SSH_AUTH_SOCK names no agent', async () => {
      const passphrase = { file: undefined, value: PASSPHRASE };
      const stale = join(dir, 'gone-agent.sock');
      await reaches(
        tunnel({ host: '127.0.0.2', agentSocket: stale, privateKeyPath: join(dir, 'id_pass'), passphrase }),
      );
      const without = tunnel({ host: '127.0.0.2', agentSocket: stale });
      await expect(without.ready()).rejects.toThrow(`the ssh-agent at ${stale} cannot be used`);
    });

    it('refuses a passphrase key without a terminal, saying what to set; a 0600 SSH_KEY_PASSPHRASE_FILE opens it', async () => {
      const key = join(dir, 'id_pass');
      const without = tunnel({ host: '127.0.0.2', privateKeyPath: key });
      await expect(without.ready()).rejects.toThrow(
        new RegExp(
          `could not log in as root to 127\\.0\\.0\\.2:.*the SSH key ${key} is protected by a passphrase.*SSH_KEY_PASSPHRASE_FILE`,
        ),
      );
      const file = join(dir, 'passphrase');
      writeFileSync(file, `${PASSPHRASE}\n`, { mode: 0o644 });
      chmodSync(file, 0o644);
      const exposed = tunnel({
        host: '127.0.0.2',
        privateKeyPath: key,
        passphrase: { file, value: undefined },
      });
      await expect(exposed.ready()).rejects.toThrow(
        /SSH_KEY_PASSPHRASE_FILE .* is readable by others \(mode 644\); chmod 600 it/,
      );
      chmodSync(file, 0o600);
      await reaches(
        tunnel({ host: '127.0.0.2', privateKeyPath: key, passphrase: { file, value: undefined } }),
      );
    });

    it('asks the person at the terminal for the passphrase, echo off, again after a wrong one', async () => {
      const key = join(dir, 'id_pass');
      const person = new ScriptedPerson(['wrong', PASSPHRASE]);
      await reaches(tunnel({ host: '127.0.0.2', privateKeyPath: key, prompter: person }));
      expect(person.asked).toEqual([
        { question: `Enter passphrase for key '${key}': `, echo: false },
        { question: `Enter passphrase for key '${key}': `, echo: false },
      ]);
      expect(person.told).toEqual(['Bad passphrase, try again.']);
    });
  });

  describe('~/.ssh/config with ProxyJump, through the gateway', () => {
    it('resolves the alias and reaches the login node through the jump host', async () => {
      const orchestrator = new StandInOrchestrator();
      await orchestrator.start();
      const config = join(dir, 'ssh_config');
      writeFileSync(
        config,
        [
          'Host cluster',
          '  HostName 127.0.0.2',
          `  Port ${String(nodeA.port)}`,
          '  User root',
          `  IdentityFile ${join(dir, 'id_pass')}`,
          '  ProxyJump bastion',
          'Host bastion',
          '  HostName 127.0.0.1',
          `  Port ${String(jump.port)}`,
          `  IdentityAgent ${agentSocket}`,
          '',
        ].join('\n'),
      );
      const passphrase = join(dir, 'passphrase-jump');
      writeFileSync(passphrase, PASSPHRASE, { mode: 0o600 });
      const jumpLogins = jump.logins();
      const nodeLogins = nodeA.logins();
      const gateway = await startGateway({
        SSH_HOST: 'cluster',
        SSH_CONFIG_PATH: config,
        SSH_KNOWN_HOSTS_PATH: knownHosts,
        SSH_KEY_PASSPHRASE_FILE: passphrase,
        ORCHESTRATOR_URL: orchestrator.url,
        PROXY_URL: orchestrator.url,
      });
      try {
        const res = await fetch(`${gateway.url}/api/v1/services`);
        expect(res.status).toBe(200);
        expect(await res.json()).toMatchObject({ method: 'GET', url: '/api/services' });
        expect(jump.logins()).toBe(jumpLogins + 1);
        expect(nodeA.logins()).toBe(nodeLogins + 1);
      } finally {
        await gateway.close();
        await orchestrator.close();
      }
    });
  });

  describe('several login nodes behind one name', () => {
    it('pins the node first reached, goes back to it when the name points elsewhere, and refuses a changed host key', async () => {
      const pinPath = join(dir, 'state', 'ssh-pins.json');
      const options = { agentSocket, pinPath, lookup: roundRobin };
      await reaches(tunnel(options));
      const pins = JSON.parse(readFileSync(pinPath, 'utf8')) as { pins: Record<string, unknown> };
      expect(pins.pins[`root@${NAME}:${String(nodeA.port)}`]).toMatchObject({
        node: 'node-a.cluster.test',
        address: '127.0.0.2',
        port: nodeA.port,
        host_key: publicKey(join(dir, 'host_a')),
      });
      expect(statSync(pinPath).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, 'state')).mode & 0o777).toBe(0o700);

      // Without the pin the name now leads to node B, where this control plane does not run.
      const bLogins = nodeB.logins();
      await reaches(tunnel({ agentSocket, lookup: roundRobin }));
      expect(nodeB.logins()).toBe(bLogins + 1);

      // A restarted gateway with the pin goes back to node A, without asking the name.
      const aLogins = nodeA.logins();
      const asked = lookups.length;
      await reaches(tunnel(options));
      expect(nodeA.logins()).toBe(aLogins + 1);
      expect(nodeB.logins()).toBe(bLogins + 1);
      expect(lookups).toHaveLength(asked);

      // Node A reinstalled with a new host key, even one the user added to known_hosts: refused loudly.
      writeFileSync(knownHosts, `[${NAME}]:${String(nodeA.port)} ${publicKey(join(dir, 'host_a2'))}\n`, {
        flag: 'a',
      });
      await nodeA.stop();
      await nodeA.start(join(dir, 'host_a2'), 'node-a.cluster.test');
      const refused = tunnel(options);
      await expect(refused.ready()).rejects.toThrow(
        new RegExp(
          `HOST KEY CHANGED on the pinned login node node-a\\.cluster\\.test \\(127\\.0\\.0\\.2:${String(nodeA.port)}\\)` +
            `.*delete the pin in ${pinPath.replace(/[.]/g, '\\.')}`,
        ),
      );
      expect(refused.state()).toMatchObject({
        phase: 'backoff',
        last_error: expect.stringMatching(/^HOST KEY CHANGED/) as unknown,
      });
    });

    it('refuses a pinned address that now answers as another node', async () => {
      const pinPath = join(dir, 'other-state', 'ssh-pins.json');
      mkdirSync(join(dir, 'other-state'), { mode: 0o700 });
      writeFileSync(
        pinPath,
        JSON.stringify({
          pins: {
            [`root@${NAME}:${String(nodeB.port)}`]: {
              node: 'node-a.cluster.test',
              address: '127.0.0.3',
              port: nodeB.port,
              host_key: publicKey(join(dir, 'host_b')),
              pinned_at: new Date().toISOString(),
            },
          },
        }),
        { mode: 0o600 },
      );
      await expect(tunnel({ agentSocket, pinPath }).ready()).rejects.toThrow(
        /the pinned login node node-a\.cluster\.test \(127\.0\.0\.3\) now answers as node-b\.cluster\.test/,
      );
      // A pinned node that is down is retried, never swapped for another one behind the name.
      const pins = JSON.parse(readFileSync(pinPath, 'utf8')) as { pins: Record<string, { address: string }> };
      for (const pin of Object.values(pins.pins)) pin.address = '127.0.0.4';
      writeFileSync(pinPath, JSON.stringify(pins), { mode: 0o600 });
      await expect(tunnel({ agentSocket, pinPath, lookup: roundRobin }).ready()).rejects.toThrow(
        /the pinned login node node-a\.cluster\.test \(127\.0\.0\.4:\d+\) cannot be reached: .*ECONNREFUSED.*delete the pin in/,
      );
    });
  });

  describe('keyboard-interactive (an ssh2 Server: sshd offers it only through PAM)', () => {
    let server: Server;
    let port: number;
    let kiKnownHosts: string;

    beforeAll(async () => {
      const hostKey = utils.generateKeyPairSync('ed25519');
      const userKey = readFileSync(join(dir, 'id_agent.pub'), 'utf8');
      const allowed = utils.parseKey(userKey);
      if (allowed instanceof Error || Array.isArray(allowed)) throw new Error('cannot parse id_agent.pub');
      // ssh2's verify answers an Error (truthy) when it cannot verify, whatever its typing says.
      const verified = (blob: Buffer, signature: Buffer, hashAlgo: string | undefined): boolean =>
        (allowed.verify(blob, signature, hashAlgo) as unknown) === true;
      // As `AuthenticationMethods publickey,keyboard-interactive`: a key, then a one-time code.
      server = new Server({ hostKeys: [hostKey.private] }, (client: Connection) => {
        // Like sshd after a partial success, every later failure lists only the method still owed.
        let keyed = false;
        client.on('authentication', (ctx) => {
          if (ctx.method === 'publickey' && !keyed && ctx.key.data.equals(allowed.getPublicSSH())) {
            if (!ctx.signature || !ctx.blob) {
              ctx.accept();
            } else if (verified(ctx.blob, ctx.signature, ctx.hashAlgo)) {
              keyed = true;
              ctx.reject(['keyboard-interactive'], true);
            } else {
              ctx.reject(['publickey']);
            }
          } else if (ctx.method === 'keyboard-interactive' && keyed) {
            ctx.prompt(
              [{ prompt: 'Verification code: ', echo: false }],
              'MFA',
              'Open your authenticator app',
              (answers) => {
                if (answers[0] === '123456') ctx.accept();
                else ctx.reject(['keyboard-interactive'], true);
              },
            );
          } else {
            ctx.reject(keyed ? ['keyboard-interactive'] : ['publickey'], keyed);
          }
        });
        client.on('error', () => undefined);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as net.AddressInfo).port;
      kiKnownHosts = join(dir, 'ki_known_hosts');
      writeFileSync(
        kiKnownHosts,
        `[127.0.0.1]:${String(port)} ${hostKey.public.split(/\s+/).slice(0, 2).join(' ')}\n`,
      );
    });

    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it('passes the prompts to the person at the terminal after the key, and logs in with their answer', async () => {
      const person = new ScriptedPerson(['123456']);
      const made = tunnel({
        host: '127.0.0.1',
        port,
        agentSocket,
        knownHostsPath: kiKnownHosts,
        prompter: person,
      });
      await made.ready();
      expect(made.state().phase).toBe('connected');
      expect(person.asked).toEqual([{ question: 'Verification code: ', echo: false }]);
      expect(person.told.join('\n')).toContain('Open your authenticator app');
    });

    it('fails at once with a clear message when nobody is at a terminal', async () => {
      const made = tunnel({ host: '127.0.0.1', port, agentSocket, knownHostsPath: kiKnownHosts });
      await expect(made.ready()).rejects.toThrow(
        /asks for keyboard-interactive answers \("Verification code:"\), but the gateway has no terminal to ask/,
      );
    });
  });
});
