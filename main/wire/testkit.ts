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

/**
 * The small-order points of Curve25519 and their non-canonical encodings, as hex: every one gives an
 * all-zero X25519 shared secret (a key exchange offering one must be refused: bad_key).
 */
export const LOW_ORDER_X25519_HEX: readonly string[] = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p - 1
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p + 1
];
