import { Transform, type TransformCallback } from 'node:stream';

/**
 * Passes a body on until it passes `limit` bytes, then fails the stream it feeds with the caller's
 * error (each hop answers an oversized body in its own words).
 */
export class BodyLimit extends Transform {
  private size = 0;

  constructor(
    private readonly limit: number,
    private readonly tooLarge: (limit: number) => Error,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.limit) callback(this.tooLarge(this.limit));
    else callback(null, chunk);
  }
}
