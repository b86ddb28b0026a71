import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  parsePartition,
  parsePort,
  parseRemotePath,
  parseSshHost,
  parseTimeoutSeconds,
} from './cluster.args';
import { findRoot } from './cluster.bundle';
import { loadClusterConfig, type ClusterConfig } from './cluster.config';
import { CLUSTER_EXIT, ClusterError } from './cluster.errors';
import { clusterDown, clusterStatus, clusterUp, type Reporter } from './cluster.flow';

/** What `cluster` needs of the CLI: the global flags and where to write. */
export interface ClusterCommandContext {
  url(): string;
  json(): boolean;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

interface UpFlags {
  port: number;
  detach?: boolean;
  sshConfig?: string;
  partition?: string;
  redisServer?: string;
  shipNode?: boolean;
  timeout: number;
}

interface DownFlags {
  sshConfig?: string;
  keepServices?: boolean;
  timeout: number;
}

const DEFAULT_PORT = 8001;

function sshConfigOption(): Option {
  return new Option('-F, --ssh-config <file>', 'an ssh config file instead of ~/.ssh/config (as ssh -F)')
    .env('SSH_CONFIG_PATH')
    .argParser((value: string) => {
      const file = path.resolve(value);
      if (!existsSync(file)) throw new InvalidArgumentError(`no such file: ${file}`);
      return file;
    });
}

function timeoutOption(seconds: number, what: string): Option {
  return new Option('--timeout <seconds>', what).default(seconds).argParser(parseTimeoutSeconds);
}

/**
 * `aiplane cluster up|down|status <ssh-host>`: the one part of the CLI that works over SSH rather
 * than through the gateway's API, since it is what puts a gateway there (docs/cluster-up.md).
 */
export function registerClusterCommand(program: Command, ctx: ClusterCommandContext): Command {
  const reporter: Reporter = {
    note: (text) => {
      ctx.err.write(`${text}\n`);
    },
  };
  const setup = (): { config: ClusterConfig; root: string; interactive: boolean } => {
    const config = loadClusterConfig(process.env);
    const root = config.root ?? findRoot(__dirname);
    if (root === undefined) {
      throw new ClusterError(
        'cannot find the aiplane checkout this CLI runs from: set AIPLANE_ROOT to it (built with `npm run build`)',
        CLUSTER_EXIT.usage,
      );
    }
    return { config, root, interactive: process.stdin.isTTY };
  };
  const print = (value: unknown, text: string): void => {
    ctx.out.write(ctx.json() ? `${JSON.stringify(value, null, 2)}\n` : text);
  };

  const cluster = program
    .command('cluster')
    .description('start or stop the cluster side on a login node over SSH, and a gateway here to reach it');

  cluster
    .command('up')
    .description(
      'install what is missing into ~/.aiplane on the login node (as your SSH user, no root), start the ' +
        'cluster side there (SLURM), then run the gateway here over SSH, pinned to that node',
    )
    .argument('<ssh-host>', 'the login node: an ~/.ssh/config alias or user@host', parseSshHost)
    .addOption(
      new Option('-p, --port <port>', "the local gateway's port").default(DEFAULT_PORT).argParser(parsePort),
    )
    .option('-d, --detach', 'run the local gateway in the background (stop it with cluster down)')
    .addOption(sshConfigOption())
    .addOption(
      new Option('--partition <name>', 'the SLURM partition services go to').argParser(parsePartition),
    )
    .addOption(
      new Option('--redis-server <path>', 'redis-server on the node, when it is not on PATH there').argParser(
        parseRemotePath,
      ),
    )
    .option('--ship-node', "copy this machine's Node.js even if the node has a recent one")
    .addOption(timeoutOption(180, 'how long to wait for the cluster side and the gateway'))
    .action(async (host: string, flags: UpFlags) => {
      const { config, root, interactive } = setup();
      const { result, gateway } = await clusterUp(
        config,
        root,
        {
          host,
          port: flags.port,
          detach: flags.detach === true,
          ...(flags.sshConfig === undefined ? {} : { sshConfig: flags.sshConfig }),
          ...(flags.partition === undefined ? {} : { partition: flags.partition }),
          ...(flags.redisServer === undefined ? {} : { redisServer: flags.redisServer }),
          shipNode: flags.shipNode === true,
          timeoutSeconds: flags.timeout,
          interactive,
        },
        reporter,
      );
      const urlFlag = flags.port === DEFAULT_PORT ? '' : ` --url ${result.gateway.url}`;
      print(
        result,
        `\nReady: gateway ${result.gateway.url}/api/v1 (Swagger ${result.gateway.url}/docs), over SSH to ` +
          `${host}, pinned to ${result.node}; the cluster side runs there as pid ${String(result.cluster_pid)} ` +
          `(log ${result.remote_log}).\n` +
          `Next: aiplane${urlFlag} services ls\n` +
          (flags.detach === true
            ? `Stop everything: aiplane cluster down ${host}   (the gateway's log: ${result.gateway.log ?? ''})\n`
            : `Ctrl-C stops this gateway only; \`aiplane cluster down ${host}\` stops the cluster side.\n`),
      );
      if (flags.detach !== true) {
        const code = await gateway.exited;
        if (code !== 0 && code !== null && code !== 130) {
          throw new ClusterError(`the local gateway exited with code ${String(code)}`, CLUSTER_EXIT.failed);
        }
      }
    });

  cluster
    .command('down')
    .description(
      'stop the local gateway (if detached), cancel the services and stop the cluster side on the login node',
    )
    .argument('<ssh-host>', 'the login node, as given to cluster up', parseSshHost)
    .addOption(sshConfigOption())
    .option('--keep-services', "leave the services' SLURM jobs running (they end at their time limit)")
    .addOption(timeoutOption(120, 'how long to wait for the services to end'))
    .action(async (host: string, flags: DownFlags) => {
      const { config, root, interactive } = setup();
      const result = await clusterDown(
        config,
        root,
        {
          host,
          ...(flags.sshConfig === undefined ? {} : { sshConfig: flags.sshConfig }),
          keepServices: flags.keepServices === true,
          timeoutSeconds: flags.timeout,
          interactive,
        },
        reporter,
      );
      const lines = [
        result.gateway_stopped ? 'Stopped the local gateway.' : 'No local gateway for this host was running.',
        result.cluster_pid === undefined
          ? (result.message ?? `No cluster side was running on ${host}.`)
          : `Stopped the cluster side on ${host} (pid ${String(result.cluster_pid)})` +
            (flags.keepServices === true
              ? "; its services' SLURM jobs were left running."
              : `; cancelled ${String(result.cancelled.length)} service(s)${result.cancelled.length > 0 ? `: ${result.cancelled.join(', ')}` : ''}.`),
      ];
      if (result.left_processes.length > 0) {
        lines.push(
          `${String(result.left_processes.length)} process(es) did not stop on TERM and were killed.`,
        );
      }
      print(result, `${lines.join('\n')}\n`);
    });

  cluster
    .command('status')
    .description('whether the cluster side runs on the login node, and the local gateway here')
    .argument('<ssh-host>', 'the login node, as given to cluster up', parseSshHost)
    .addOption(sshConfigOption())
    .action(async (host: string, flags: { sshConfig?: string }) => {
      const { config, root, interactive } = setup();
      const result = await clusterStatus(config, root, {
        host,
        ...(flags.sshConfig === undefined ? {} : { sshConfig: flags.sshConfig }),
        interactive,
      });
      const { cluster: side, gateway } = result;
      print(
        result,
        (side.running
          ? `Cluster side on ${host}: running (pid ${String(side.pid)})` +
            (side.services === undefined ? '' : `, ${String(side.services)} service(s) not ended`) +
            (side.message === undefined ? '' : `; ${side.message}`)
          : `Cluster side on ${host}: not running`) +
          `\nLocal gateway: ${gateway.running ? `${gateway.url ?? ''} (pid ${String(gateway.pid)})` : 'not running (detached)'}\n`,
      );
    });
  return cluster;
}
