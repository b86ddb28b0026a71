import type { OutgoingHttpHeaders } from 'node:http';
import type { BodySink, Logger } from '@aiplane/server-kit';
import { REQUEST_ID_HEADER } from '@aiplane/server-kit';
import type { StreamedResponse } from '../upstream/upstream.client';
import { stampTiming, type Exchange } from './exchange.rules';

/**
 * How long an event stream's headers wait for its first event, to leave in one write with it. Sent
 * alone, the headers make the first event a second small write right behind them, which an SSH
 * server forwarding the gateway's channel holds back (it leaves Nagle on) until the gateway's
 * delayed ACK of the headers: about 40 ms on every stream. A slower first event finds the headers
 * already sent, so no hop waits on an unanswered status line for long.
 */
const SSE_HEADER_HOLD_MS = 50;

/**
 * Streams a workload's answer to the client as it arrives: headers with the first chunk (an event
 * stream's at the latest SSE_HEADER_HOLD_MS after the workload's), each chunk written as read,
 * nothing buffered beyond what the client has not taken yet. A client that goes away aborts the
 * workload request, so generation stops. A workload that fails mid-answer ends an SSE stream with
 * one error event (never a silent truncation); any other answer is cut, which its framing makes
 * visible to the client.
 */
export function relayAnswer(ex: Exchange, streamed: StreamedResponse, logger: Logger): void {
  const { res } = ex;
  const { status, headers, body, workloadMs } = streamed;
  const sse = (headers['content-type'] ?? '').startsWith('text/event-stream');
  // The answer's end-to-end headers (AnswerHandler left the connection's own out), with ours added.
  const sent: OutgoingHttpHeaders = headers;
  sent[REQUEST_ID_HEADER] = ex.requestId;
  res.writeHead(status, stampTiming(sent, ex, workloadMs));
  let hold: NodeJS.Timeout | undefined;
  if (sse) {
    hold = setTimeout(() => {
      if (!res.headersSent && !res.destroyed) res.flushHeaders();
    }, SSE_HEADER_HOLD_MS);
  }
  res.on('close', () => {
    clearTimeout(hold);
    if (!body.complete) body.abort();
  });
  // Only an event stream's first chunk has the held headers to release.
  const sink: BodySink = sse
    ? {
        write: (chunk) => {
          clearTimeout(hold);
          return res.write(chunk);
        },
        once: (event, listener) => res.once(event, listener),
      }
    : res;
  body.relay(sink, {
    end: () => {
      clearTimeout(hold);
      res.end();
    },
    fail: () => {
      clearTimeout(hold);
      if (res.destroyed || res.writableEnded) return;
      logger.warn({ request_id: ex.requestId, status }, 'workload failed mid-answer');
      if (!sse) {
        res.destroy();
        return;
      }
      const event = {
        error: {
          message: 'The model server stopped answering in the middle of the stream',
          type: 'server_error',
          code: 'upstream_disconnected',
        },
      };
      res.end(`data: ${JSON.stringify(event)}\n\n`);
    },
  });
}
