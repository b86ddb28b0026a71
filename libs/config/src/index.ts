export * from './config';
export * from './process.runner';
