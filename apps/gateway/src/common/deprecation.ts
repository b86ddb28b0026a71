import type { HeadersObject } from '@nestjs/swagger';

/** Headers that tell clients of a legacy DELETE what replaces it (RFC 9745, RFC 8288). */
export function deprecationHeaders(successor: string): Record<string, string> {
  return { Deprecation: 'true', Link: `<${successor}>; rel="successor-version"` };
}

/** The same headers, as the OpenAPI document describes them. */
export function deprecationHeadersDoc(successorExample: string): HeadersObject {
  return {
    Deprecation: { description: 'Always `true`', schema: { type: 'string', example: 'true' } },
    Link: {
      description: 'The successor endpoint',
      schema: { type: 'string', example: `<${successorExample}>; rel="successor-version"` },
    },
  };
}
