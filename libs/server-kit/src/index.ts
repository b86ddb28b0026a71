export * from './bootstrap';
export * from './errors';
export * from './forward';
export * from './http-error.filter';
export * from './logging';
export * from './request-context';
