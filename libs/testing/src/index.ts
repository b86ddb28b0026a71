export { storedService } from './stored-service.fixture';
export {
  RecordingScheduler,
  type RecordingSchedulerOptions,
  type SchedulerCall,
} from './recording.scheduler';
