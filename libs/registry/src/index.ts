export * from './registry.types';
export * from './registry.schema';
export * from './service.registry';
export * from './redis.connection';
export * from './registry.module';
export * from './group.records';
export * from './workload-auth';
export * from './submission.admission';
