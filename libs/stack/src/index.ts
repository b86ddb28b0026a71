export * from './process.supervisor';
export * from './stack';
export * from './redis.runner';
