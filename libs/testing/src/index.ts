export { storedService } from './stored-service.fixture';
export {
  RecordingScheduler,
  type RecordingSchedulerOptions,
  type SchedulerCall,
} from './recording.scheduler';
export { apiClient, waitForStatus, waitUntil, type Api, type ApiResponse } from './api.client';
export {
  baseEnv,
  listenerPid,
  makeRuntimeDir,
  makeStateDir,
  infraRedisUrl,
  readInfra,
  ROOT,
  scontrolShowJob,
  slurmConfPath,
  slurmJobsUnder,
  squeueActive,
  uniquePrefix,
  type Infra,
  type SlurmJob,
} from './infra.fixture';
export { withStack, type StackFixture, type StackFixtureOptions, type StackLogLine } from './stack.fixture';
export { freeJobPort } from './ports.fixture';
export { serveHttpApp, withHttpApp, type ServedHttpApp } from './http-app.fixture';
