import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
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
 * `hostname`, since both nodes are this machine. Keyboard-interactive is OpenSSH's own, through PAM:
 * pam_oath asks for a real time-based code, under the PAM service tools/infra/up.sh provisions.
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

/**
 * A real sshd, in the foreground so it is this test's child; `hostname` on it answers `node`.
 * Started as `program` (a symlink to sshd), it uses the PAM service of that name.
 */
class Sshd {
  readonly log: string;
  private child: ChildProcess | undefined;

  constructor(
    readonly name: string,
    readonly address: string,
    readonly port: number,
    private readonly program = SSHD,
  ) {
    this.log = join(dir, `${name}.log`);
  }

  /** `oneTimeCode`: a key, then PAM's keyboard-interactive prompts, as a site with 2FA has it. */
  async start(hostKey: string, node: string, oneTimeCode = false): Promise<void> {
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
        ...(oneTimeCode
          ? [
              'UsePAM yes',
              'KbdInteractiveAuthentication yes',
              'AuthenticationMethods publickey,keyboard-interactive',
              // prohibit-password would refuse root the code step, which is keyboard-interactive.
              'PermitRootLogin yes',
            ]
          : ['KbdInteractiveAuthentication no', 'UsePAM no', 'PermitRootLogin prohibit-password']),
        'AllowTcpForwarding yes',
        'AllowStreamLocalForwarding yes',
        'StrictModes no',
        'LogLevel VERBOSE',
        `SetEnv PATH=${bin}:/usr/bin:/bin`,
        '',
      ].join('\n'),
    );
    const child = spawn(this.program, ['-D', '-f', config, '-E', this.log], { stdio: 'ignore' });
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

  /** How many times its log says `text`. */
  count(text: string): number {
    return readFileSync(this.log, 'utf8').split(text).length - 1;
  }

  /** Resolves once its log says `text` `times` times; fails after 5 s, quoting the log. */
  async logged(text: string, times: number): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (this.count(text) < times) {
      if (Date.now() > deadline)
        throw new Error(
          `${this.name} sshd logged "${text}" fewer than ${String(times)} times:\n${readFileSync(this.log, 'utf8')}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/**
 * The person at the terminal, with the answers they will type; a function is an answer read off
 * something at the moment of the question (an authenticator app's current code).
 */
class ScriptedPerson implements Prompter {
  readonly interactive = true;
  readonly asked: { question: string; echo: boolean }[] = [];
  readonly told: string[] = [];

  constructor(private readonly answers: (string | (() => string))[]) {}

  ask(question: string, echo: boolean): Promise<string> {
    this.asked.push({ question, echo });
    const answer = this.answers.shift() ?? '';
    return Promise.resolve(typeof answer === 'function' ? answer() : answer);
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

/** What `tools/infra/up.sh sshd` provisions for one-time codes; a missing piece fails the tests that need it. */
interface OneTimeCodes {
  /** sshd under the name of its PAM service, whose only auth module is pam_oath. */
  sshd: string;
  /** pam_oath's users file: a line per login user and secret; pam_oath records each code used in it. */
  usersFile: string;
}

function oneTimeCodes(): OneTimeCodes {
  const infraDir = process.env.AIPLANE_INFRA_DIR ?? '/var/tmp/aiplane-infra';
  const envFile = join(infraDir, 'env');
  const fix = 'run "bash tools/infra/up.sh sshd" as root (npm test runs tools/infra/up.sh)';
  const env = new Map(
    (existsSync(envFile) ? readFileSync(envFile, 'utf8') : '')
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  const sshd = env.get('SSH_OTP_SSHD');
  const usersFile = env.get('SSH_OTP_USERS_FILE');
  if (!sshd || !usersFile) throw new Error(`${envFile} has no SSH_OTP_SSHD / SSH_OTP_USERS_FILE: ${fix}`);
  const pamFile = join('/etc/pam.d', basename(sshd));
  const pam = existsSync(pamFile) ? readFileSync(pamFile, 'utf8') : '';
  if (!pam.includes(`pam_oath.so usersfile=${usersFile}`))
    throw new Error(`${pamFile} is missing or does not run pam_oath on ${usersFile}: ${fix}`);
  if (!existsSync(sshd) || !existsSync(usersFile))
    throw new Error(`${sshd} or ${usersFile} is missing: ${fix}`);
  try {
    execFileSync('oathtool', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(`oathtool cannot be run: ${fix}`);
  }
  return { sshd, usersFile };
}

/** The 6-digit time-based code of a hex secret now, as an authenticator app shows it. */
function totp(secret: string): string {
  return execFileSync('oathtool', ['--totp', secret], { encoding: 'utf8' }).trim();
}

/** A 6-digit code pam_oath takes for none of the steps around now (its window is 1). */
function wrongCode(secret: string): string {
  const around = execFileSync(
    'oathtool',
    ['--totp', '--window=6', `--now=@${String(Math.floor(Date.now() / 1000) - 90)}`, secret],
    { encoding: 'utf8' },
  ).split('\n');
  const code = ['000000', '111111', '222222', '333333', '444444', '555555', '666666', '777777'].find(
    (candidate) => !around.includes(candidate),
  );
  if (code === undefined) throw new Error('no wrong code left');
  return code;
}

/**
 * Runs `use` with a fresh secret as `user`'s only line in the users file. Every run of every
 * suite shares that file, and pam_oath rewrites it on each login (to record the code, which then
 * cannot be used again), so the lines, the login and the clean-up happen under one flock(1): a
 * concurrent run neither loses its line to another's rewrite nor meets its spent codes.
 */
async function withSecret<T>(
  usersFile: string,
  user: string,
  use: (secret: string) => Promise<T>,
): Promise<T> {
  const lock = spawn(
    'flock',
    ['-w', '120', join(dirname(usersFile), 'tests.lock'), 'sh', '-c', 'echo held; exec cat'],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  children.push(lock);
  await new Promise<void>((resolve, reject) => {
    lock.stdout.once('data', () => {
      resolve();
    });
    lock.once('exit', (code) => {
      reject(new Error(`could not lock ${usersFile} within 120 s (flock exited ${String(code)})`));
    });
  });
  const write = (text: string): void => {
    // pam_oath reads only a 0600 file of root's; a rename never shows it half-written.
    const next = `${usersFile}.${String(process.pid)}.tmp`;
    writeFileSync(next, text, { mode: 0o600 });
    renameSync(next, usersFile);
  };
  const secret = randomBytes(20).toString('hex');
  try {
    // Under the lock the file is this test's alone: lines an interrupted run left go too.
    write(`HOTP/T30 ${user} - ${secret}\n`);
    return await use(secret);
  } finally {
    write('');
    await new Promise((resolve) => {
      lock.once('exit', resolve);
      lock.stdin.end();
    });
  }
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

  describe('keyboard-interactive: a one-time code from PAM (pam_oath) after the key', () => {
    let otp: OneTimeCodes;
    let server: Sshd;
    let otpKnownHosts: string;
    let orchestrator: StandInOrchestrator;
    const prompt = "One-time password (OATH) for `root': ";
    const loginTo = (prompter: Prompter): SshTunnel =>
      tunnel({ host: '127.0.0.1', port: server.port, agentSocket, knownHostsPath: otpKnownHosts, prompter });

    beforeAll(async () => {
      otp = oneTimeCodes();
      keygen(join(dir, 'host_otp'));
      server = new Sshd('otp', '127.0.0.1', await freePort('127.0.0.1'), otp.sshd);
      otpKnownHosts = join(dir, 'otp_known_hosts');
      writeFileSync(
        otpKnownHosts,
        `[127.0.0.1]:${String(server.port)} ${publicKey(join(dir, 'host_otp'))}\n`,
      );
      await server.start(join(dir, 'host_otp'), 'otp.cluster.test', true);
      orchestrator = await new StandInOrchestrator().start();
    });

    afterAll(async () => {
      await server.stop();
      await orchestrator.close();
    });

    it("passes pam_oath's prompt to the person at the terminal and logs in with the code they read off", async () => {
      await withSecret(otp.usersFile, 'root', async (secret) => {
        let typed = '';
        const accepted = server.count('Accepted keyboard-interactive/pam for root ');
        const person = new ScriptedPerson([() => (typed = totp(secret))]);
        const made = loginTo(person);
        const answer = await getOver(await made.openChannel('127.0.0.1', orchestrator.port), '/api/services');
        expect(answer.status).toBe(200);
        expect(JSON.parse(answer.body)).toMatchObject({ method: 'GET', url: '/api/services' });
        expect(orchestrator.forwarded().map((request) => request.url)).toContain('/api/services');
        expect(person.asked).toEqual([{ question: prompt, echo: false }]);
        expect(person.told).toEqual(['root@127.0.0.1']);
        expect(typed).toMatch(/^\d{6}$/);
        expect(server.count('Accepted keyboard-interactive/pam for root ')).toBe(accepted + 1);
        // pam_oath checked that very code: it records it against the secret, spent.
        expect(readFileSync(otp.usersFile, 'utf8')).toMatch(
          new RegExp(`\\b${secret}\\s+\\d+\\s+${typed}\\s`),
        );
      });
    });

    it('refuses a wrong code, naming the host and keyboard-interactive', async () => {
      await withSecret(otp.usersFile, 'root', async (secret) => {
        const failed = server.count('Failed keyboard-interactive/pam for root ');
        const person = new ScriptedPerson([wrongCode(secret)]);
        const made = loginTo(person);
        await expect(made.ready()).rejects.toThrow(
          new RegExp(
            `could not log in as root to 127\\.0\\.0\\.1:${String(server.port)}; ` +
              'tried the ssh-agent at .*, keyboard-interactive; the server takes keyboard-interactive',
          ),
        );
        expect(person.asked).toEqual([{ question: prompt, echo: false }]);
        // sshd may log the refusal just after the client has it.
        await server.logged('Failed keyboard-interactive/pam for root ', failed + 1);
      });
    });

    it('fails at once with a clear message when nobody is at a terminal', async () => {
      // pam_oath asks only users who have a line in its file.
      await withSecret(otp.usersFile, 'root', async () => {
        const made = loginTo(nobody);
        await expect(made.ready()).rejects.toThrow(
          new RegExp(
            `root@127\\.0\\.0\\.1:${String(server.port)} asks for keyboard-interactive answers ` +
              '\\("One-time password \\(OATH\\) for `root\':"\\), but the gateway has no terminal to ask',
          ),
        );
      });
    });
  });
});
