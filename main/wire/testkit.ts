/** Test helpers for the wire codecs (no test-framework imports). */
import { mulberry32 } from '../util/random';

/** Deterministic PRNG (mulberry32); returns floats in [0, 1). */
export const prng: (seed: number) => () => number = mulberry32;

export function randomInt(rand: () => number, maxInclusive: number): number {
  return Math.floor(rand() * (maxInclusive + 1));
}

export function randomBytes(rand: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = randomInt(rand, 255);
  return b;
}

/** Cuts `bytes` into chunks at `cuts` random points (chunks may be empty). Chunks are copies. */
export function randomSplit(rand: () => number, bytes: Uint8Array, cuts: number): Uint8Array[] {
  const points: number[] = [];
  for (let i = 0; i < cuts; i++) points.push(randomInt(rand, bytes.length));
  points.sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(bytes.slice(prev, p));
    prev = p;
  }
  out.push(bytes.slice(prev));
  return out;
}

export const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
export const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
