import { proxyController } from '../data-plane/proxy-route.forwarder';

/** Collections and points of Qdrant services, and their metrics: streamed to the proxy. */
export const VectorDbController = proxyController('VectorDbController', [
  'vectorDb.collections',
  'vectorDb.collection',
  'vectorDb.createCollection',
  'vectorDb.deleteCollection',
  'vectorDb.upsertPoints',
  'vectorDb.search',
  'vectorDb.metrics',
]);
