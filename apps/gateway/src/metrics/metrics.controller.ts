import { ApiResponse } from '@nestjs/swagger';
import { ErrorBodyDto } from '@aiplane/http-api';
import { gatewayController } from '../common/route-forwarder';
import { MetricsHandler } from './metrics.handler';

/**
 * The control plane's own metrics: `gateway` from this process's registry, every other app from
 * the orchestrator (MetricsHandler).
 */
export const MetricsController = gatewayController(
  'MetricsController',
  'metrics',
  {
    'metrics.app': [
      ApiResponse({
        status: 200,
        description: 'Prometheus text format of the app, every series labelled `app`',
        content: {
          'text/plain': {
            schema: { type: 'string' },
            example:
              '# HELP aiplane_http_requests_total Requests answered, by route template, method and status\n' +
              '# TYPE aiplane_http_requests_total counter\n' +
              'aiplane_http_requests_total{route="/api/v1/services",method="GET",status="200",app="gateway"} 3\n',
          },
        },
      }),
      ApiResponse({
        status: 404,
        description: 'Not a control-plane app; the message lists the ones there are',
        type: ErrorBodyDto,
      }),
      ApiResponse({
        status: 503,
        description:
          'An app that publishes snapshots has none fresh: it is not running, or cannot reach Redis',
        type: ErrorBodyDto,
      }),
    ],
  },
  [],
  MetricsHandler,
);
