export * from './bull.connection';
export * from './scheduler.queue';
