export * from './bootstrap';
export * from './errors';
export * from './forward';
export * from './http-error.filter';
export * from './logging';
export * from './request-body.rules';
export * from './request-context';
export * from './store-unavailable';
