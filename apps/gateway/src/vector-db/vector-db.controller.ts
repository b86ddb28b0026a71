import { ApiOkResponse } from '@nestjs/swagger';
import {
  CollectionInfoDto,
  CollectionsDto,
  SearchResultsDto,
  VectorDbAckDto,
  VectorDbServicesDto,
} from '@aiplane/http-api';
import { ApiPrometheusText } from '../common/api-docs';
import { gatewayController } from '../common/route-forwarder';

// Every route here but vectorDb.services is served by the pass-through before Nest (see
// RouteForwarder); they are declared here for the API document, which keeps their bodies and examples.
export const VectorDbController = gatewayController('VectorDbController', 'vector-db', {
  'vectorDb.services': [ApiOkResponse({ type: VectorDbServicesDto })],
  'vectorDb.collections': [ApiOkResponse({ type: CollectionsDto })],
  'vectorDb.collection': [ApiOkResponse({ type: CollectionInfoDto })],
  'vectorDb.createCollection': [ApiOkResponse({ type: VectorDbAckDto })],
  'vectorDb.deleteCollection': [ApiOkResponse({ type: VectorDbAckDto })],
  'vectorDb.upsertPoints': [ApiOkResponse({ type: VectorDbAckDto })],
  'vectorDb.search': [ApiOkResponse({ type: SearchResultsDto })],
  'vectorDb.metrics': [ApiPrometheusText('Qdrant')],
});
