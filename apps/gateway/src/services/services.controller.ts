import { ApiExtraModels, ApiHeader, ApiOkResponse, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { examplePath } from '@aiplane/contracts';
import {
  CancelResponseDto,
  ErrorBodyDto,
  LogsDto,
  PrometheusTargetGroupDto,
  ReplicaGroupRecordDto,
  ServiceRecordDto,
  ServiceStatusDto,
} from '@aiplane/http-api';
import { ApiPrometheusText } from '../common/api-docs';
import { deprecationHeadersDoc } from '../common/deprecation';
import { gatewayController } from '../common/route-forwarder';

const RECORD_OR_GROUP = {
  oneOf: [{ $ref: getSchemaPath(ServiceRecordDto) }, { $ref: getSchemaPath(ReplicaGroupRecordDto) }],
};

export const ServicesController = gatewayController(
  'ServicesController',
  'services',
  {
    'services.create': [
      ApiHeader({
        name: 'Idempotency-Key',
        required: false,
        description:
          'Makes the create safe to retry: every request with the same key (1-128 characters of ' +
          '`A-Z a-z 0-9 . _ : -`) answers with the same service, and the scheduler gets one job.',
      }),
      ApiOkResponse({
        description:
          "The record created (status `pending`). 200, not 201: the document's clients check for 200.",
        schema: RECORD_OR_GROUP,
      }),
    ],
    'services.list': [
      ApiOkResponse({
        description: 'Every record, groups included',
        schema: { type: 'array', items: RECORD_OR_GROUP },
      }),
    ],
    'services.targets': [
      ApiOkResponse({ type: PrometheusTargetGroupDto, isArray: true }),
      ApiResponse({
        status: 400,
        description:
          'The Host header is not `host[:port]` (a DNS name, IPv4 or [IPv6] address); the message says so',
        type: ErrorBodyDto,
      }),
    ],
    'services.get': [ApiOkResponse({ description: 'The record', schema: RECORD_OR_GROUP })],
    'services.status': [ApiOkResponse({ type: ServiceStatusDto })],
    'services.updateStatus': [ApiOkResponse({ type: CancelResponseDto })],
    'services.stop': [
      ApiOkResponse({
        type: CancelResponseDto,
        headers: deprecationHeadersDoc(examplePath('services.updateStatus', 'gateway')),
      }),
    ],
    'services.logs': [ApiOkResponse({ type: LogsDto })],
    // Served by the pass-through before Nest (see RouteForwarder); declared for the API document.
    'services.metrics': [ApiPrometheusText('the workload')],
  },
  [ApiExtraModels(ServiceRecordDto, ReplicaGroupRecordDto)],
);
