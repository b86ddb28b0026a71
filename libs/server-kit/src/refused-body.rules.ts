import type * as http from 'node:http';

/**
 * A refused body is read and dropped, unparsed, up to this size; a larger one costs the client
 * its connection.
 */
export const DISCARD_LIMIT = 64 * 1024 * 1024;

/**
 * After answering a request without reading its body: the rest of the body is read and dropped as
 * it arrives, and the connection stays open until it has all arrived. Closing it at once would reset
 * a client still uploading before it reads the answer (a write EPIPE in place of a 413). Node's
 * parser knows where the body ends, so nothing of it is taken for the next request. Past
 * DISCARD_LIMIT (declared or counted) the connection is cut.
 * A client without credentials gets no such courtesy: its connection ends with the answer.
 * Call before writing the answer's head: it may add `connection: close` to `headers`.
 */
export function dropUnreadBody(
  req: http.IncomingMessage,
  headers: http.OutgoingHttpHeaders,
  status: number,
): void {
  if (req.complete) return;
  const declared = Number(req.headers['content-length'] ?? 0);
  if (status === 401 || !(declared <= DISCARD_LIMIT)) {
    headers.connection = 'close';
    req.resume();
    return;
  }
  let dropped = 0;
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > DISCARD_LIMIT) req.socket.destroy();
  });
  req.resume();
}
