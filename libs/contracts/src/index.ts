export * from './status';
export * from './secrets';
export * from './records';
export * from './jobs';
export * from './dto';
export * from './groups';
export * from './service-id';
export * from './scrape-origin';
