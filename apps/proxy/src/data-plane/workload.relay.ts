import type { Logger } from '@aiplane/server-kit';
import { REQUEST_ID_HEADER } from '@aiplane/server-kit';
import type { StreamedResponse } from '../upstream/upstream.client';
import { returnedHeaders, timingHeaders, type Exchange } from './exchange.rules';

/**
 * Streams a workload's answer to the client as it arrives: headers at once (an SSE client sees its
 * stream open before the first token), each chunk written as read, nothing buffered. A client that
 * goes away destroys the workload request, so generation stops. A workload that fails mid-answer
 * ends an SSE stream with one error event (never a silent truncation); any other answer is cut,
 * which its framing makes visible to the client.
 */
export function relayAnswer(ex: Exchange, streamed: StreamedResponse, logger: Logger): void {
  const { res } = ex;
  const { response, request, workloadMs } = streamed;
  const sse = (response.headers['content-type'] ?? '').startsWith('text/event-stream');
  res.writeHead(response.statusCode ?? 502, {
    ...returnedHeaders(response.headers),
    [REQUEST_ID_HEADER]: ex.requestId,
    ...timingHeaders(ex, workloadMs),
  });
  if (sse) res.flushHeaders();
  res.on('close', () => {
    if (!response.complete) request.destroy();
  });
  response.on('close', () => {
    if (response.complete || res.destroyed || res.writableEnded) return;
    logger.warn({ request_id: ex.requestId, status: response.statusCode }, 'workload failed mid-answer');
    if (sse) {
      const event = {
        error: {
          message: 'The model server stopped answering in the middle of the stream',
          type: 'server_error',
          code: 'upstream_disconnected',
        },
      };
      res.end(`data: ${JSON.stringify(event)}\n\n`);
    } else {
      res.destroy();
    }
  });
  // An aborted upstream answer emits 'error' too; 'close' above decides what the client sees.
  response.on('error', () => undefined);
  response.pipe(res);
}
