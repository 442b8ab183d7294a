/**
 * A FIFO of received byte chunks, shared by the buffering frame decoders. Bytes are copied only
 * when a requested run spans several chunks, so a large frame arriving in many chunks costs one
 * copy in total (no re-concatenation per chunk).
 *
 * Chunks are retained by reference until consumed: callers must not modify a chunk after pushing
 * it. `take` returns a view into a pushed chunk when the run lies inside one chunk.
 */
export class ChunkQueue {
  private chunks: Uint8Array[] = [];
  private head = 0; // index of the first live chunk
  private offset = 0; // bytes already consumed from chunks[head]
  private total = 0;

  get length(): number {
    return this.total;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** Byte at position i (0 = next unread byte); i must be < length. */
  peekByte(i: number): number {
    let k = this.head;
    let pos = i + this.offset;
    for (;;) {
      const c = this.chunks[k]!;
      if (pos < c.length) return c[pos]!;
      pos -= c.length;
      k++;
    }
  }

  peekU16(i: number): number {
    return (this.peekByte(i) << 8) | this.peekByte(i + 1);
  }

  peekU32(i: number): number {
    return ((this.peekByte(i) << 24) | (this.peekByte(i + 1) << 16) | (this.peekByte(i + 2) << 8) | this.peekByte(i + 3)) >>> 0;
  }

  /** Discards the next n bytes (n ≤ length). */
  skip(n: number): void {
    this.consume(n, false);
  }

  /** Removes and returns the next n bytes (n ≤ length): a view when they lie in one chunk, else a copy. */
  take(n: number): Uint8Array {
    return this.consume(n, true) ?? new Uint8Array(0);
  }

  private consume(n: number, want: boolean): Uint8Array | undefined {
    if (n > this.total) throw new RangeError(`ChunkQueue: need ${n} bytes, have ${this.total}`);
    if (n === 0) return want ? new Uint8Array(0) : undefined;
    this.total -= n;
    const first = this.chunks[this.head]!;
    if (this.offset + n <= first.length) {
      const out = want ? first.subarray(this.offset, this.offset + n) : undefined;
      this.offset += n;
      if (this.offset === first.length) this.advance();
      return out;
    }
    const out = want ? new Uint8Array(n) : undefined;
    let done = 0;
    while (done < n) {
      const c = this.chunks[this.head]!;
      const m = Math.min(c.length - this.offset, n - done);
      if (out) out.set(c.subarray(this.offset, this.offset + m), done);
      done += m;
      this.offset += m;
      if (this.offset === c.length) this.advance();
    }
    return out;
  }

  private advance(): void {
    this.chunks[this.head] = EMPTY; // drop the reference
    this.head++;
    this.offset = 0;
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head >= 64 && this.head * 2 >= this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}

const EMPTY = new Uint8Array(0);
