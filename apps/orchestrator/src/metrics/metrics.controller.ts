import { proxyController } from '../data-plane/proxy-route.forwarder';

/** The Prometheus text of any service's workload (every replica of a group): from the proxy. */
export const MetricsController = proxyController('MetricsController', ['services.metrics']);
