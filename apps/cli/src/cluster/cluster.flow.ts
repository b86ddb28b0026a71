import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { AgentReport } from './cluster.agent';
import { hostPart } from './cluster.args';
import { makeBundle, NODE_ARTEFACT_NAME, nodeArtefact, type Artefact } from './cluster.bundle';
import type { ClusterConfig } from './cluster.config';
import { CLUSTER_EXIT, ClusterError } from './cluster.errors';
import {
  dropStalePin,
  isOurGateway,
  launchGateway,
  loadRecord,
  pinnedNode,
  recordName,
  removeRecord,
  saveRecord,
  stopProcess,
  type LaunchedGateway,
} from './cluster.gateway';
import {
  AGENT_RUN_SCRIPT,
  archOfUname,
  INSTALL_SCRIPT,
  nodeVersionAtLeast,
  parseProbe,
  PROBE_SCRIPT,
  REMOTE_BASE,
  START_SCRIPT,
  type NodeFacts,
} from './cluster.remote';
import { lastLines, SshClient, type ResolvedHost } from './cluster.ssh';

/** What package.json's engines asks for. */
export const MIN_NODE: readonly [number, number] = [20, 11];

export interface Reporter {
  /** Progress for the person, on stderr. */
  note(text: string): void;
}

export interface UpOptions {
  host: string;
  port: number;
  detach: boolean;
  sshConfig?: string;
  partition?: string;
  redisServer?: string;
  shipNode: boolean;
  timeoutSeconds: number;
  interactive: boolean;
}

export interface UpResult {
  host: string;
  node: string;
  version: string;
  cluster_pid: number;
  already_running: boolean;
  installed: string[];
  gateway: { url: string; pid: number; port: number; log?: string };
  remote_log: string;
}

/** What the agent on the login node answers (one JSON line). */
type AgentAnswer = AgentReport;

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function sshFor(
  config: ClusterConfig,
  host: string,
  sshConfig: string | undefined,
  interactive: boolean,
): SshClient {
  return new SshClient({
    host,
    ...(sshConfig === undefined ? {} : { configFile: sshConfig }),
    interactive,
    env: config.env,
  });
}

function parseAgent(stdout: string, stderr: string, what: string): AgentAnswer {
  const line = stdout
    .trim()
    .split('\n')
    .filter((text) => text.startsWith('{'))
    .pop();
  if (line === undefined) {
    throw new ClusterError(
      `${what}: the node gave no answer:\n${lastLines(`${stdout}\n${stderr}`, 15) || '(nothing)'}`,
      CLUSTER_EXIT.failed,
    );
  }
  try {
    return JSON.parse(line) as AgentAnswer;
  } catch {
    throw new ClusterError(`${what}: the node answered ${line.slice(0, 300)}`, CLUSTER_EXIT.failed);
  }
}

/** Everything that makes the node unfit, said at once, so one round of fixes is enough. */
function checkFacts(facts: NodeFacts, options: UpOptions): string[] {
  const problems: string[] = [];
  if (facts.os !== 'Linux')
    problems.push(`the node runs ${facts.os || 'an unknown OS'}; the cluster side needs Linux`);
  const slurm = facts.missingCommands.filter((cmd) => cmd.startsWith('s'));
  if (slurm.length > 0) {
    problems.push(
      `${slurm.join(', ')} not found on PATH for a non-interactive ssh command: load SLURM's module in your ` +
        `~/.bashrc on the node (check with \`ssh ${options.host} command -v sbatch\`)`,
    );
  }
  const tools = facts.missingCommands.filter((cmd) => !cmd.startsWith('s'));
  if (tools.length > 0) problems.push(`${tools.join(', ')} not found on the node: the install needs them`);
  if (facts.sha256Tool === undefined)
    problems.push('neither sha256sum nor shasum is on the node: the install checks copies with one');
  if (facts.redis === undefined) {
    problems.push(
      options.redisServer === undefined
        ? 'redis-server is not on PATH on the node: the cluster side runs a private Redis (as you, on a Unix ' +
            'socket). Put one in your home there (e.g. `conda install -c conda-forge redis`, or build it: ' +
            '`make && make PREFIX=$HOME/.local install`) and add it to PATH, or pass --redis-server /path/to/redis-server'
        : `--redis-server ${options.redisServer} is not an executable on the node`,
    );
  }
  if (facts.baseOwner !== facts.uid || !facts.baseMode.startsWith('drwx------')) {
    problems.push(
      `~/.aiplane on the node is ${facts.baseMode} owned by uid ${String(facts.baseOwner)}: it must be yours and 0700 ` +
        '(`chmod 700 ~/.aiplane` there)',
    );
  }
  return problems;
}

/** The node binary the cluster side runs with: the node's own when recent enough, else this machine's, copied. */
function chooseNode(
  facts: NodeFacts,
  options: UpOptions,
  nodeName: string,
): { path: string; ship: boolean } | { problem: string } {
  const shippedPath = `${facts.home}/${REMOTE_BASE}/install/${nodeName}/bin/node`;
  if (
    !options.shipNode &&
    facts.pathNode !== undefined &&
    nodeVersionAtLeast(facts.pathNode.version, MIN_NODE)
  ) {
    return { path: facts.pathNode.path, ship: false };
  }
  if (facts.shippedNode !== undefined && nodeVersionAtLeast(facts.shippedNode.version, MIN_NODE)) {
    return { path: facts.shippedNode.path, ship: false };
  }
  if (process.platform === 'linux' && archOfUname(facts.arch) === process.arch) {
    return { path: shippedPath, ship: true };
  }
  const found = facts.pathNode === undefined ? 'none' : `${facts.pathNode.version} at ${facts.pathNode.path}`;
  return {
    problem:
      `Node.js ${MIN_NODE.join('.')} or later is missing on the node (found: ${found}), and this machine's ` +
      `(${process.platform}-${process.arch}) cannot run there (${facts.os}-${facts.arch}): install Node.js there ` +
      '(e.g. `module load nodejs`, or unpack an official build in your home) and put it on PATH',
  };
}

async function install(
  ssh: SshClient,
  facts: NodeFacts,
  artefact: Artefact,
  kind: 'tar' | 'node',
  linkDeps: string,
  reporter: Reporter,
): Promise<void> {
  reporter.note(`  copying ${artefact.name} (${mb(artefact.bytes)}) ...`);
  await ssh.upload(artefact.file, `${REMOTE_BASE}/install/.incoming/${artefact.name}`);
  const result = await ssh.run(INSTALL_SCRIPT, [
    artefact.name,
    artefact.sha256,
    kind,
    facts.sha256Tool ?? '',
    linkDeps,
  ]);
  if (result.code !== 0) {
    throw new ClusterError(
      `installing ${artefact.name} on the node failed: ${lastLines(result.stderr) || `exit code ${String(result.code)}`}`,
      result.code === 4 ? CLUSTER_EXIT.missing : CLUSTER_EXIT.failed,
    );
  }
}

function expandHome(file: string, home: string): string {
  return file.startsWith('~/') ? path.join(home, file.slice(2)) : file;
}

/** The gateway's SSH settings: the ones `ssh` used for the bootstrap, so both reach the same node the same way. */
function gatewayEnv(
  config: ClusterConfig,
  options: UpOptions,
  resolved: ResolvedHost,
  answer: AgentAnswer,
): Record<string, string> {
  const knownHosts = resolved.knownHostsFiles
    .map((file) => expandHome(file, config.home))
    .find((file) => existsSync(file));
  const key =
    config.env.SSH_KEY_PATH ??
    resolved.identityFiles.map((file) => expandHome(file, config.home)).find((file) => existsSync(file));
  return {
    ...config.env,
    GATEWAY_HOST: '127.0.0.1',
    GATEWAY_PORT: String(options.port),
    SSH_HOST: hostPart(options.host),
    SSH_USER: resolved.user,
    SSH_PORT: String(resolved.port),
    ...(options.sshConfig === undefined ? {} : { SSH_CONFIG_PATH: options.sshConfig }),
    ...(knownHosts === undefined ? {} : { SSH_KNOWN_HOSTS_PATH: knownHosts }),
    ...(key === undefined ? {} : { SSH_KEY_PATH: key }),
    SSH_PIN_NODE: 'true',
    GATEWAY_STATE_DIR: config.stateDir,
    ORCHESTRATOR_SOCKET: answer.orchestrator_socket ?? '',
    ORCHESTRATOR_TOKEN: answer.token ?? '',
    PROXY_SOCKET: answer.proxy_socket ?? '',
    PROXY_TOKEN: answer.token ?? '',
  };
}

export async function clusterUp(
  config: ClusterConfig,
  root: string,
  options: UpOptions,
  reporter: Reporter,
): Promise<{ result: UpResult; gateway: LaunchedGateway }> {
  const existing = await loadRecord(config.stateDir, options.host);
  if (existing !== undefined && isOurGateway(existing.pid, root)) {
    throw new ClusterError(
      `a gateway for ${options.host} already runs here (pid ${String(existing.pid)}, ${existing.url}): ` +
        `use it, or run \`aiplane cluster down ${options.host}\` first`,
      CLUSTER_EXIT.usage,
    );
  }
  const ssh = sshFor(config, options.host, options.sshConfig, options.interactive);
  try {
    const resolved = await ssh.resolve();
    if (resolved.proxyCommand !== undefined) {
      throw new ClusterError(
        `${options.host} uses ProxyCommand, which the gateway refuses (it runs no command from the ssh config): ` +
          'use ProxyJump instead (docs/ssh.md)',
        CLUSTER_EXIT.usage,
      );
    }
    reporter.note(`Packing the built code from ${root} ...`);
    const bundle = await makeBundle(root, config.cacheDir);
    const nodeName = NODE_ARTEFACT_NAME;
    reporter.note(`Checking ${options.host} (as ${resolved.user || 'the configured user'}) ...`);
    const probe = await ssh.run(PROBE_SCRIPT, [
      bundle.code.name,
      bundle.deps.name,
      nodeName,
      options.redisServer ?? '',
    ]);
    if (probe.code !== 0) {
      throw new ClusterError(
        `checking the node failed: ${lastLines(probe.stderr) || String(probe.code)}`,
        CLUSTER_EXIT.failed,
      );
    }
    const facts = parseProbe(probe.stdout);
    if (facts.uid === 0) {
      throw new ClusterError(
        `${options.host} logs in as root: the cluster side runs as your own unprivileged user; ` +
          'use that user (User in ~/.ssh/config, or user@host)',
        CLUSTER_EXIT.usage,
      );
    }
    const problems = checkFacts(facts, options);
    const node = chooseNode(facts, options, nodeName);
    if ('problem' in node) problems.push(node.problem);
    if (problems.length > 0 || 'problem' in node) {
      throw new ClusterError(
        `${options.host} (${facts.nodeName}) cannot run the cluster side yet:\n  - ${problems.join('\n  - ')}`,
        CLUSTER_EXIT.missing,
      );
    }
    const installed: string[] = [];
    if (node.ship) {
      reporter.note(
        `Node.js on the node is missing or older than ${MIN_NODE.join('.')}: copying this machine's ${process.version}`,
      );
      await install(ssh, facts, await nodeArtefact(config.cacheDir, process.execPath), 'node', '', reporter);
      installed.push(nodeName);
    }
    if (!facts.depsInstalled) {
      await install(ssh, facts, bundle.deps, 'tar', '', reporter);
      installed.push(bundle.deps.name);
    }
    if (!facts.codeInstalled) {
      await install(ssh, facts, bundle.code, 'tar', bundle.deps.name, reporter);
      installed.push(bundle.code.name);
    }
    const reused = [
      ...(facts.depsInstalled ? [bundle.deps.name] : []),
      ...(facts.codeInstalled ? [bundle.code.name] : []),
    ];
    if (reused.length > 0) reporter.note(`  ${reused.join(' and ')}: installed already, reused`);
    reporter.note(`Starting the cluster side on ${facts.nodeName} (SLURM) ...`);
    const started = await ssh.run(START_SCRIPT, [
      bundle.code.name,
      node.path,
      options.partition ?? '',
      options.redisServer ?? '',
      String(options.timeoutSeconds * 1000),
    ]);
    const answer = parseAgent(started.stdout, started.stderr, 'starting the cluster side');
    if (!answer.ok || answer.token === undefined || answer.orchestrator_socket === undefined) {
      const timedOut = (answer.message ?? '').includes('not ready within');
      throw new ClusterError(
        (answer.message ?? 'the cluster side did not start') +
          (answer.log_tail ? `\nIts log (${answer.log ?? ''} on the node) ends:\n${answer.log_tail}` : ''),
        timedOut ? CLUSTER_EXIT.timedOut : CLUSTER_EXIT.failed,
      );
    }
    reporter.note(
      answer.already_running === true
        ? `  it was running already (pid ${String(answer.pid)}); reusing it`
        : `  ready (pid ${String(answer.pid)}; log ${answer.log ?? ''} on the node)`,
    );
    const target = `${resolved.user}@${resolved.hostname}:${String(resolved.port)}`;
    const moved = await dropStalePin(config.stateDir, target, facts.nodeName);
    if (moved !== undefined) {
      reporter.note(
        `  the gateway's pin named ${moved}; the control plane now runs on ${facts.nodeName}, so that pin was removed`,
      );
    }
    reporter.note(`Starting the gateway on 127.0.0.1:${String(options.port)} (SSH to ${options.host}) ...`);
    const logFile = path.join(config.stateDir, 'cluster', `${recordName(options.host)}.gateway.log`);
    const gateway = await launchGateway({
      root,
      port: options.port,
      env: gatewayEnv(config, options, resolved, answer),
      detach: options.detach,
      logFile,
      timeoutMs: options.timeoutSeconds * 1000,
    });
    const pinned = await pinnedNode(config.stateDir, target);
    if (pinned !== undefined && pinned !== facts.nodeName) {
      await stopProcess(gateway.pid);
      throw new ClusterError(
        `the gateway reached login node ${pinned}, but the cluster side runs on ${facts.nodeName}: ` +
          `give cluster up that node's own name (a Host entry with its HostName) so both land on it`,
        CLUSTER_EXIT.failed,
      );
    }
    const result: UpResult = {
      host: options.host,
      node: facts.nodeName,
      version: bundle.version,
      cluster_pid: answer.pid ?? 0,
      already_running: answer.already_running === true,
      installed,
      gateway: {
        url: gateway.url,
        pid: gateway.pid,
        port: options.port,
        ...(options.detach ? { log: logFile } : {}),
      },
      remote_log: answer.log ?? '',
    };
    if (options.detach) {
      await saveRecord(config.stateDir, {
        host: options.host,
        pid: gateway.pid,
        port: options.port,
        url: gateway.url,
        node: facts.nodeName,
        log: logFile,
        started_at: new Date().toISOString(),
      });
    }
    return { result, gateway };
  } finally {
    await ssh.close();
  }
}

export interface DownOptions {
  host: string;
  sshConfig?: string;
  keepServices: boolean;
  timeoutSeconds: number;
  interactive: boolean;
}

export interface DownResult {
  host: string;
  gateway_stopped: boolean;
  cluster_running: boolean;
  cluster_pid?: number;
  cancelled: string[];
  left_processes: number[];
  message?: string;
}

export async function clusterDown(
  config: ClusterConfig,
  root: string,
  options: DownOptions,
  reporter: Reporter,
): Promise<DownResult> {
  let gatewayStopped = false;
  const record = await loadRecord(config.stateDir, options.host);
  if (record !== undefined) {
    if (isOurGateway(record.pid, root)) {
      reporter.note(`Stopping the local gateway (pid ${String(record.pid)}, ${record.url}) ...`);
      await stopProcess(record.pid);
      gatewayStopped = true;
    }
    await removeRecord(config.stateDir, options.host);
  }
  const ssh = sshFor(config, options.host, options.sshConfig, options.interactive);
  try {
    reporter.note(
      options.keepServices
        ? `Stopping the cluster side on ${options.host}, leaving its services' SLURM jobs running ...`
        : `Cancelling the services and stopping the cluster side on ${options.host} ...`,
    );
    const result = await ssh.run(AGENT_RUN_SCRIPT, [
      'stop',
      '--timeout-ms',
      String(options.timeoutSeconds * 1000),
      ...(options.keepServices ? ['--keep-services'] : []),
    ]);
    const answer = parseAgent(result.stdout, result.stderr, 'stopping the cluster side');
    if (!answer.ok) {
      throw new ClusterError(answer.message ?? 'stopping the cluster side failed', CLUSTER_EXIT.failed);
    }
    return {
      host: options.host,
      gateway_stopped: gatewayStopped,
      cluster_running: answer.running,
      ...(answer.pid === undefined ? {} : { cluster_pid: answer.pid }),
      cancelled: answer.cancelled ?? [],
      left_processes: answer.left_processes ?? [],
      ...(answer.message === undefined ? {} : { message: answer.message }),
    };
  } finally {
    await ssh.close();
  }
}

export interface StatusResult {
  host: string;
  cluster: { running: boolean; pid?: number; services?: number; message?: string; log?: string };
  gateway: { running: boolean; url?: string; pid?: number };
}

export async function clusterStatus(
  config: ClusterConfig,
  root: string,
  options: { host: string; sshConfig?: string; interactive: boolean },
): Promise<StatusResult> {
  const record = await loadRecord(config.stateDir, options.host);
  const gateway = record !== undefined && isOurGateway(record.pid, root) ? record : undefined;
  const ssh = sshFor(config, options.host, options.sshConfig, options.interactive);
  try {
    const result = await ssh.run(AGENT_RUN_SCRIPT, ['status']);
    const answer = parseAgent(result.stdout, result.stderr, 'asking the cluster side');
    return {
      host: options.host,
      cluster: {
        running: answer.running,
        ...(answer.pid === undefined ? {} : { pid: answer.pid }),
        ...(answer.services === undefined ? {} : { services: answer.services }),
        ...(answer.message === undefined ? {} : { message: answer.message }),
        ...(answer.log === undefined ? {} : { log: answer.log }),
      },
      gateway:
        gateway === undefined ? { running: false } : { running: true, url: gateway.url, pid: gateway.pid },
    };
  } finally {
    await ssh.close();
  }
}
