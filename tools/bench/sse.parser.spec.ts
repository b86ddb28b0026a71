import { isErrorEvent, isTokenChunk, SseSplitter } from './sse.parser';

const chat = (delta: Record<string, unknown>): string =>
  JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: null }] });

describe('server-sent events', () => {
  it('times an event when its last byte arrives, across and within reads', () => {
    const splitter = new SseSplitter();
    expect(splitter.push('data: {"a"', 1)).toEqual([]);
    expect(splitter.push(':1}\n\ndata: [DONE]\r\n\r\n: comment\n\ndata: x', 2)).toEqual([
      { data: '{"a":1}', at: 2 },
      { data: '[DONE]', at: 2 },
    ]);
    expect(splitter.rest()).toBe('data: x');
  });

  it('joins the data lines of one event', () => {
    expect(new SseSplitter().push('data: a\ndata:b\n\n', 0)).toEqual([{ data: 'a\nb', at: 0 }]);
  });

  it('counts token chunks: chat content and completions text, not the role chunk, usage or [DONE]', () => {
    expect(isTokenChunk(chat({ role: 'assistant', content: '' }))).toBe(false);
    expect(isTokenChunk(chat({ content: ' the' }))).toBe(true);
    expect(isTokenChunk(JSON.stringify({ choices: [{ index: 0, text: 'x' }] }))).toBe(true);
    expect(isTokenChunk(JSON.stringify({ choices: [], usage: { completion_tokens: 3 } }))).toBe(false);
    expect(isTokenChunk('[DONE]')).toBe(false);
    expect(isTokenChunk('not json')).toBe(false);
  });

  it('recognises the error event a hop ends a failed stream with', () => {
    expect(isErrorEvent('{"error":{"message":"upstream gone","type":"server_error","code":502}}')).toBe(true);
    expect(isErrorEvent(chat({ content: 'error' }))).toBe(false);
  });
});
