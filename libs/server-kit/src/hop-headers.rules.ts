/**
 * Hop-by-hop headers (RFC 9110 §7.6.1, plus the non-standard Proxy-Connection) describe one
 * connection: every hop drops them, with any header a Connection header names, before passing a
 * request or an answer on.
 */
export const HOP_BY_HOP_HEADERS: readonly string[] = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];
