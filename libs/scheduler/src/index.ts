export type { JobInfo, Scheduler, SchedulerKind, SubmitRequest } from './scheduler.types';
export { isSchedulerError, SchedulerError, type SchedulerErrorCode } from './scheduler.errors';
export {
  type CommandResult,
  type CommandRunner,
  type CommandRunOptions,
  ExecFileCommandRunner,
} from './command.runner';
export { SlurmScheduler, type SlurmSchedulerOptions } from './slurm.scheduler';
export { LocalScheduler, type LocalSchedulerOptions } from './local.scheduler';
export { createScheduler, type CreateSchedulerOptions } from './scheduler.factory';
export {
  decodeSlurmExitCode,
  expandHostlist,
  jobCompInfo,
  KNOWN_SLURM_STATES,
  normaliseSlurmState,
  parseSbatchParsable,
  parseScontrolShowJob,
  parseSqueue,
  parseSlurmDuration,
  parseSlurmTime,
  parseSqueueListLine,
  parseSqueueQueueLine,
  SQUEUE_DELIMITER,
  SQUEUE_FORMAT,
  SQUEUE_LIST_FORMAT,
  SQUEUE_QUEUE_FORMAT,
} from './slurm.parsers';
export { queuePositions, type PendingJob } from './queue-position.rules';
