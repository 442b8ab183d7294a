/** Big-endian integer helpers shared by the codecs (every wire integer is network order). */
import { PilotError } from '../../shared/errors';

export function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

export function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

export function putU16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

export function putU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

/** Throws invalid_argument unless `n` is an integer in 0..65535. */
export function checkU16(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new PilotError('invalid_argument', `${what} out of range: ${n}`);
}

/** Throws invalid_argument unless `n` is an integer in 0..2^32-1. */
export function checkU32(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new PilotError('invalid_argument', `${what} out of range: ${n}`);
}
