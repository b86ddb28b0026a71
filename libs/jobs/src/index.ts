export * from './scheduler.queue';
