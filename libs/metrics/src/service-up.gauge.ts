import { formatExposition } from './exposition.writer';
import { assertLabelNames } from './exposition.relabel';
import type { Labels } from './metrics.types';

export const SERVICE_UP_METRIC = 'aiplane_service_up';

/**
 * `aiplane_service_up{service_id, status}`: 1 when the service is running, else 0. A service that is
 * queued or loading its model has no workload to scrape, and a scrape must still succeed for it.
 * `status` is any status of the contract (a group's overall status too); `labels` are added after
 * `service_id` and `status`, which they cannot replace.
 */
export function statusGauge(serviceId: string, status: string, labels: Labels = {}): string {
  assertLabelNames(labels);
  const extra = Object.entries(labels).filter(([name]) => name !== 'service_id' && name !== 'status');
  return formatExposition([
    {
      name: SERVICE_UP_METRIC,
      help: 'Whether the service is running (1) or not (0); the status label says which state it is in.',
      type: 'gauge',
      samples: [
        {
          name: SERVICE_UP_METRIC,
          labels: { service_id: serviceId, status, ...Object.fromEntries(extra) },
          value: status === 'running' ? '1' : '0',
        },
      ],
    },
  ]);
}
