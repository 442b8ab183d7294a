/**
 * Length-prefixed framing shared by the registry protocol (registry.md §1) and local IPC
 * (cli.md §2): `u32 big-endian length ‖ body`, body at most 1,048,576 bytes.
 */
import { PilotError } from '../../shared/errors';
import { ChunkQueue } from './chunks';

export const MAX_FRAME = 1 << 20;
export const FRAME_HEADER_SIZE = 4;

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

function tooLarge(n: number, max: number): PilotError {
  return new PilotError('frame_too_large', `frame of ${n} bytes exceeds the ${max}-byte limit`);
}

/** `u32 length ‖ body`. Throws frame_too_large when body exceeds `max` (default 1 MiB). */
export function encodeFrame(body: Uint8Array, max: number = MAX_FRAME): Uint8Array {
  if (body.length > max) throw tooLarge(body.length, max);
  const out = new Uint8Array(FRAME_HEADER_SIZE + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, FRAME_HEADER_SIZE);
  return out;
}

/** JSON.stringify → UTF-8 → frame. `undefined`/functions (no JSON form) are invalid_argument. */
export function encodeJsonFrame(obj: unknown, max: number = MAX_FRAME): Uint8Array {
  return encodeFrame(encodeJson(obj), max);
}

/** UTF-8 JSON text of a value (no frame). */
export function encodeJson(obj: unknown): Uint8Array {
  const text = JSON.stringify(obj) as string | undefined;
  if (text === undefined) throw new PilotError('invalid_argument', 'value has no JSON representation');
  return enc.encode(text);
}

/** Parses a UTF-8 JSON body. Invalid UTF-8 or JSON → PilotError invalid_argument. */
export function decodeJson(body: Uint8Array): unknown {
  let text: string;
  try {
    text = dec.decode(body);
  } catch {
    throw new PilotError('invalid_argument', 'JSON body is not valid UTF-8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new PilotError('invalid_argument', `invalid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Buffering decoder for a byte stream of frames. `push` returns every frame completed by the
 * chunk (possibly none, possibly several). A frame that arrived inside a single chunk is returned
 * as a VIEW into that chunk; one spread over several chunks is copied once. Pushed chunks must
 * not be modified afterwards.
 *
 * A length prefix above `max` throws frame_too_large as soon as its 4 bytes are seen (frames
 * completed earlier in the same push are lost with it); the stream is then unusable and the
 * connection should be closed.
 */
export class FrameDecoder {
  private readonly queue = new ChunkQueue();
  private need = -1; // body length of the frame in progress, -1 while reading a header

  constructor(private readonly max: number = MAX_FRAME) {}

  push(chunk: Uint8Array): Uint8Array[] {
    this.queue.push(chunk);
    const frames: Uint8Array[] = [];
    for (;;) {
      if (this.need < 0) {
        if (this.queue.length < FRAME_HEADER_SIZE) break;
        const n = this.queue.peekU32(0);
        if (n > this.max) throw tooLarge(n, this.max);
        this.queue.skip(FRAME_HEADER_SIZE);
        this.need = n;
      }
      if (this.queue.length < this.need) break;
      frames.push(this.queue.take(this.need));
      this.need = -1;
    }
    return frames;
  }

  /** Bytes received but not yet returned as a frame (including a partial length prefix). */
  get buffered(): number {
    return this.queue.length + (this.need >= 0 ? FRAME_HEADER_SIZE : 0);
  }
}
