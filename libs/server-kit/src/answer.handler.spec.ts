import { EventEmitter } from 'node:events';
import { AnswerHandler, type AnswerHead, type BodySink } from './answer.handler';

/** A sink that takes `room` chunks before it is full, and drains on demand. */
class Sink extends EventEmitter implements BodySink {
  readonly chunks: string[] = [];
  constructor(private room = Infinity) {
    super();
  }
  write(chunk: Buffer): boolean {
    this.chunks.push(chunk.toString());
    this.room -= 1;
    return this.room > 0;
  }
  drain(room: number): void {
    this.room = room;
    this.emit('drain');
  }
}

function exchange() {
  const heads: AnswerHead[] = [];
  const failures: { error: Error; connected: boolean }[] = [];
  const handler = new AnswerHandler({
    head: (answer) => heads.push(answer),
    failed: (error, connected) => failures.push({ error, connected }),
  });
  const resume = jest.fn();
  const abort = jest.fn();
  const head = (status = 200, raw: string[] = ['Content-Type', 'text/plain']) =>
    handler.onHeaders(
      status,
      raw.map((part) => Buffer.from(part, 'latin1')),
      resume,
    );
  return { handler, heads, failures, resume, abort, head };
}

describe('AnswerHandler', () => {
  it('hands over the head with node:http header names and values, repeats as arrays', () => {
    const { heads, head } = exchange();
    head(201, ['Content-Type', 'application/json', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2']);
    expect(heads).toHaveLength(1);
    expect(heads[0]?.status).toBe(201);
    expect(heads[0]?.headers).toEqual({ 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'] });
  });

  it("leaves out the connection's own headers, and those its Connection header names", () => {
    const { heads, head } = exchange();
    head(200, [
      'Content-Type',
      'text/event-stream',
      'Connection',
      'keep-alive, X-Hop',
      'Keep-Alive',
      'timeout=5',
      'Transfer-Encoding',
      'chunked',
      'X-Hop',
      'one connection only',
      'X-End',
      'kept',
    ]);
    expect(heads[0]?.headers).toEqual({ 'content-type': 'text/event-stream', 'x-end': 'kept' });
  });

  it('skips 1xx informational heads', () => {
    const { heads, head } = exchange();
    expect(head(100, [])).toBe(true);
    expect(heads).toHaveLength(0);
    head(200);
    expect(heads).toHaveLength(1);
  });

  it('holds a chunk that arrives before the sink, pausing the parser, and resumes once it is taken', () => {
    const { handler, resume, head } = exchange();
    handler.onConnect(jest.fn());
    head();
    expect(handler.onData(Buffer.from('first'))).toBe(false);
    const sink = new Sink();
    const end = { end: jest.fn(), fail: jest.fn() };
    handler.relay(sink, end);
    expect(sink.chunks).toEqual(['first']);
    expect(resume).toHaveBeenCalledTimes(1);
    expect(handler.onData(Buffer.from('second'))).toBe(true);
    handler.onComplete();
    expect(sink.chunks).toEqual(['first', 'second']);
    expect(end.end).toHaveBeenCalledTimes(1);
    expect(end.fail).not.toHaveBeenCalled();
  });

  it('ends a sink attached after an empty body completed, without resuming anything', () => {
    const { handler, resume, head } = exchange();
    head();
    handler.onComplete();
    const end = { end: jest.fn(), fail: jest.fn() };
    handler.relay(new Sink(), end);
    expect(end.end).toHaveBeenCalledTimes(1);
    expect(resume).not.toHaveBeenCalled();
  });

  it('pauses while the sink is full and resumes on its drain', () => {
    const { handler, resume, head } = exchange();
    head();
    const sink = new Sink(1);
    handler.relay(sink, { end: jest.fn(), fail: jest.fn() });
    expect(handler.onData(Buffer.from('a'))).toBe(false);
    expect(resume).not.toHaveBeenCalled();
    sink.drain(10);
    expect(resume).toHaveBeenCalledTimes(1);
  });

  it('reads a whole body', async () => {
    const { handler, head } = exchange();
    head();
    handler.onData(Buffer.from('he'));
    const body = handler.read();
    handler.onData(Buffer.from('llo'));
    handler.onComplete();
    await expect(body).resolves.toEqual(Buffer.from('hello'));
  });

  it('reports a failure before the head with whether a connection was handed over', () => {
    const refused = exchange();
    refused.handler.onError(new Error('connect ECONNREFUSED'));
    expect(refused.failures).toEqual([{ error: new Error('connect ECONNREFUSED'), connected: false }]);

    const cut = exchange();
    cut.handler.onConnect(jest.fn());
    cut.handler.onError(new Error('other side closed'));
    expect(cut.failures[0]?.connected).toBe(true);
  });

  it('fails a relayed body cut after the head once, and a read with a message that says so', async () => {
    const relayed = exchange();
    relayed.head();
    const end = { end: jest.fn(), fail: jest.fn() };
    relayed.handler.relay(new Sink(), end);
    relayed.handler.onError(new Error('other side closed'));
    relayed.handler.onError(new Error('again'));
    expect(end.fail).toHaveBeenCalledTimes(1);
    expect(relayed.failures).toHaveLength(0);

    const read = exchange();
    read.head();
    read.handler.onError(new Error('other side closed'));
    await expect(read.handler.read()).rejects.toThrow(
      "the workload's answer was cut short: other side closed",
    );
  });

  it('aborts the exchange once, even when asked before the connection was handed over', () => {
    const { handler, head } = exchange();
    handler.abort();
    const abort = jest.fn();
    handler.onConnect(abort);
    expect(abort).toHaveBeenCalledTimes(1);
    head();
    handler.abort();
    expect(abort).toHaveBeenCalledTimes(1);
  });

  it('does not abort a completed exchange', () => {
    const { handler, head } = exchange();
    const abort = jest.fn();
    handler.onConnect(abort);
    head();
    handler.onComplete();
    handler.abort();
    expect(abort).not.toHaveBeenCalled();
  });
});
