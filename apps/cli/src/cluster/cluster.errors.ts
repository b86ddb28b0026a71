import { CliError, type ExitCode } from '../common/cli.errors';

/**
 * Exit codes of `aiplane cluster`, in line with the rest of the CLI: 2 for bad input (nothing was
 * done), 3 when the login node cannot be reached, 5 when the node lacks something the user must
 * provide, 7 when the cluster side did not come up in time, 1 when it failed to start or stop.
 */
export const CLUSTER_EXIT = {
  failed: 1,
  usage: 2,
  unreachable: 3,
  missing: 5,
  timedOut: 7,
} as const satisfies Record<string, ExitCode>;

export type ClusterExitCode = (typeof CLUSTER_EXIT)[keyof typeof CLUSTER_EXIT];

/** One message a person can act on, and the exit code; never a stack trace (the CLI prints it as its own). */
export class ClusterError extends CliError {
  constructor(message: string, exitCode: ClusterExitCode) {
    super(message, exitCode);
    this.name = 'ClusterError';
  }
}
