export * from './config';
export * from './process.runner';
export * from './runtime-dir.rules';
