export * from './validators';
export * from './services.dto';
export * from './prompt.dto';
export * from './responses.dto';
export * from './vector-db.dto';
export * from './body-dtos';
export * from './prompt.rules';
