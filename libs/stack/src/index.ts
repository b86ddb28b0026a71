export * from './process.supervisor';
export * from './stack';
