/** What `npm start -- <args>` asked for; anything it does not name is left to the environment. */
export interface StartArgs {
  help: boolean;
  /** `--slurm` or `--local`; undefined leaves SCHEDULER (default local) in charge. */
  scheduler?: 'local' | 'slurm';
  /** false with `--no-gateway`: the cluster side alone, as `aiplane cluster up` runs it on a login node. */
  gateway: boolean;
}

export class StartArgsError extends Error {
  readonly code = 'BAD_ARGUMENT';
}

export const START_USAGE = `Usage: npm start [-- --slurm | --local] [--no-gateway] [--help]

Starts the whole stack on this machine: gateway http://127.0.0.1:8001 (GATEWAY_PORT), orchestrator,
proxy, slurm-worker and health-prober, with a private Redis unless REDIS_URL names one.

  --local   run workloads with the local executor, as processes of this user (the default)
  --slurm   submit workloads to this machine's SLURM with sbatch (the same as SCHEDULER=slurm):
            needs sbatch/squeue/scancel on PATH and a controller that answers; here
            \`tools/infra/up.sh slurm\` provides one (SLURM_PARTITION picks a partition)
  --no-gateway
            the cluster side alone (orchestrator, proxy, slurm-worker, health-prober): no gateway
            listens here, the researcher's machine runs it over SSH (\`aiplane cluster up\`).
            Once ready, stack.json (0600) in the runtime dir names the pid and the sockets
  --help    print this and exit

Environment: REDIS_URL, REDIS_PREFIX, GATEWAY_PORT, AIPLANE_STATE_DIR, AIPLANE_RUNTIME_DIR,
SCHEDULER (local|slurm), SLURM_PARTITION, LOG_LEVEL, LOG_FORMAT (pretty|json; default pretty).
`;

const SCHEDULER_FLAGS: Readonly<Record<string, 'local' | 'slurm'>> = {
  '--local': 'local',
  '--slurm': 'slurm',
};

export function parseStartArgs(argv: readonly string[]): StartArgs {
  const args: StartArgs = { help: false, gateway: true };
  for (const arg of argv) {
    if (arg === '--help' || arg === '-h') {
      args.help = true;
      continue;
    }
    if (arg === '--no-gateway') {
      args.gateway = false;
      continue;
    }
    const scheduler = SCHEDULER_FLAGS[arg];
    if (scheduler === undefined) {
      throw new StartArgsError(`npm start: unknown argument ${JSON.stringify(arg)}\n\n${START_USAGE}`);
    }
    if (args.scheduler !== undefined && args.scheduler !== scheduler) {
      throw new StartArgsError('npm start: --slurm and --local exclude each other');
    }
    args.scheduler = scheduler;
  }
  return args;
}
