export * from './metrics.types';
export * from './metrics.errors';
export { parseExposition } from './exposition.parser';
export { escapeHelp, escapeLabelValue, formatExposition } from './exposition.writer';
export { mergeExpositions, relabel } from './exposition.relabel';
export { SERVICE_UP_METRIC, statusGauge } from './service-up.gauge';
export * from './scrape.targets';
export * from './control-plane.metrics';
