export * from './scheduler.worker';
