export * from './dashboards';
export * from './prometheus.config';
export { promqlMetricNames } from './promql.names';
