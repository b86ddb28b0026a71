import { randomBytes, timingSafeEqual } from 'node:crypto';
import type * as net from 'node:net';
import { buildConnector } from 'undici';
import { KEY_PROOF_PATH, keyProofOf } from '@aiplane/registry';

/** A listener that is not the workload's front (it cannot prove the key), so nothing was sent to it. */
export class KeyProofError extends Error {
  readonly code = 'KEY_PROOF';
}

// A proof answer is a short head and 64 hex characters; a listener that sends more is no front.
const MAX_ANSWER = 4096;
const HEAD_END = '\r\n\r\n';

type Connector = buildConnector.connector;

/**
 * Connections for one workload key, each of whose peers has proven, before any request goes on it,
 * that it holds the key the requests will carry: `GET /aiplane/proof?nonce=` answered with the
 * HMAC of a fresh nonce under that key. The prober's proof says who listened when it probed; a
 * replica's front can die and another user bind its port before the record says so, and that user
 * must get neither the key nor the prompt. The connection itself is undici's own (its connect
 * timeout, noDelay and TCP keep-alive); `key` undefined: that alone (a workload without a key, or
 * tests of bare simulators).
 */
export function keyProofConnector(key: string | undefined, timeoutMs: number): Connector {
  const connect = buildConnector({ timeout: timeoutMs });
  if (key === undefined) return connect;
  return (options, callback) => {
    connect(options, (error, socket) => {
      if (error !== null) {
        callback(error, null);
        return;
      }
      const where = options.host ?? `${options.hostname}:${options.port}`;
      proveKey(socket, key, where, timeoutMs, (failure) => {
        if (failure === undefined) {
          callback(null, socket);
        } else {
          socket.destroy();
          callback(failure, null);
        }
      });
    });
  };
}

/** Asks the peer on `socket` for the key's proof of a fresh nonce; `done` once, with an error unless it matched. */
function proveKey(
  socket: net.Socket,
  key: string,
  host: string,
  timeoutMs: number,
  done: (error?: Error) => void,
): void {
  const nonce = randomBytes(24).toString('hex');
  const expected = Buffer.from(keyProofOf(key, nonce));
  let answer = Buffer.alloc(0);
  let finished = false;
  const finish = (error?: Error): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    socket.removeListener('data', onData);
    socket.removeListener('error', onError);
    socket.removeListener('close', onClose);
    done(error);
  };
  const refuse = (why: string): void => {
    finish(
      new KeyProofError(`${host} did not prove it holds the workload's key (${why}); nothing was sent to it`),
    );
  };
  const onData = (chunk: Buffer): void => {
    answer = Buffer.concat([answer, chunk]);
    const verdict = judgeProof(answer, expected);
    if (verdict === 'proven') finish();
    else if (verdict !== 'incomplete') refuse(verdict.refused);
  };
  const onError = (error: Error): void => {
    finish(error);
  };
  const onClose = (): void => {
    refuse('it closed the connection');
  };
  const timer = setTimeout(() => {
    refuse(`no proof within ${String(timeoutMs)} ms`);
  }, timeoutMs);
  socket.on('data', onData);
  socket.once('error', onError);
  socket.once('close', onClose);
  socket.write(`GET ${KEY_PROOF_PATH}?nonce=${nonce} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
}

type Verdict = 'incomplete' | 'proven' | { refused: string };

/** Whether what the peer sent so far is a complete, matching proof answer. */
function judgeProof(answer: Buffer, expected: Buffer): Verdict {
  if (answer.length > MAX_ANSWER) return { refused: 'its answer is too long' };
  const text = answer.toString('latin1');
  const headEnd = text.indexOf(HEAD_END);
  if (headEnd < 0) return 'incomplete';
  const head = text.slice(0, headEnd);
  if (!/^HTTP\/1\.1 200 /.test(head)) return { refused: `status ${head.split('\r\n')[0] ?? ''}` };
  const length = /\r\ncontent-length:[ \t]*(\d{1,4})[ \t]*(?:\r\n|$)/i.exec(head)?.[1];
  if (length === undefined) return { refused: 'no content-length' };
  const body = answer.subarray(headEnd + HEAD_END.length);
  if (body.length < Number(length)) return 'incomplete';
  if (body.length > Number(length)) return { refused: 'more than its proof' };
  if (body.length !== expected.length || !timingSafeEqual(body, expected))
    return { refused: 'a wrong proof' };
  // The connection is for the requests that follow; one the peer closes is of no use.
  if (/\r\nconnection:[ \t]*close/i.test(head)) return { refused: 'it closes the connection' };
  return 'proven';
}
