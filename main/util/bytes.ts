import { PilotError } from '../../shared/errors';

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: false });

export const utf8 = (s: string): Uint8Array => enc.encode(s);
export const fromUtf8 = (b: Uint8Array): string => dec.decode(b);

/** Standard base64 with padding (the reference's JSON encoding of keys and signatures). */
export function toBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict standard base64 decode; `expectLength` checks the decoded size. */
export function fromBase64(s: string, expectLength?: number): Uint8Array {
  if (typeof s !== 'string' || !B64.test(s)) throw new PilotError('invalid_argument', 'invalid base64');
  const b = new Uint8Array(Buffer.from(s, 'base64'));
  if (expectLength !== undefined && b.length !== expectLength) {
    throw new PilotError('invalid_argument', `expected ${expectLength} bytes, got ${b.length}`);
  }
  return b;
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new PilotError('invalid_argument', 'invalid hex');
  return new Uint8Array(Buffer.from(s, 'hex'));
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}
