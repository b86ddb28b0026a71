export * from './config';
export * from './process.runner';
export * from './redis-url.parser';
export * from './redis.schema';
export * from './runtime-dir.rules';
