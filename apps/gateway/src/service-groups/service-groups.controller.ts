import { ApiOkResponse } from '@nestjs/swagger';
import { examplePath } from '@aiplane/contracts';
import {
  GroupCancelResponseDto,
  GroupStatusDto,
  GroupSummaryDto,
  ReplicaGroupRecordDto,
} from '@aiplane/http-api';
import { deprecationHeadersDoc } from '../common/deprecation';
import { gatewayController } from '../common/route-forwarder';

export const ServiceGroupsController = gatewayController('ServiceGroupsController', 'service-groups', {
  'serviceGroups.list': [ApiOkResponse({ type: GroupSummaryDto, isArray: true })],
  'serviceGroups.get': [ApiOkResponse({ type: ReplicaGroupRecordDto })],
  'serviceGroups.status': [ApiOkResponse({ type: GroupStatusDto })],
  'serviceGroups.updateStatus': [ApiOkResponse({ type: GroupCancelResponseDto })],
  'serviceGroups.stop': [
    ApiOkResponse({
      type: GroupCancelResponseDto,
      headers: deprecationHeadersDoc(examplePath('serviceGroups.updateStatus', 'gateway')),
    }),
  ],
});
