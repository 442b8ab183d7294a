/**
 * Pure IP address text ⇄ bytes helpers (no node:net), used by the beacon codec.
 * Formatting follows RFC 5952 (lowercase, longest zero run ≥ 2 groups compressed, first on ties);
 * an IPv4-mapped IPv6 address (::ffff:a.b.c.d) formats as dotted IPv4, as Go does.
 */
import { PilotError } from '../../shared/errors';

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function bad(text: string): PilotError {
  return new PilotError('invalid_argument', `invalid IP address "${text}"`);
}

function parseV4(text: string): Uint8Array | undefined {
  const m = V4.exec(text);
  if (!m) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = m[i + 1]!;
    if (part.length > 1 && part[0] === '0') return undefined; // no leading zeros (ambiguous octal)
    const n = Number(part);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseV6(text: string): Uint8Array | undefined {
  let s = text;
  const tail: number[] = [];
  // Embedded IPv4 in the last 32 bits.
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.indexOf('.', lastColon) > lastColon) {
    const v4 = parseV4(s.slice(lastColon + 1));
    if (!v4) return undefined;
    tail.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    const prefix = text.slice(0, lastColon + 1);
    // Keep a trailing "::" (compression right before the IPv4 part); else drop the separator colon.
    s = prefix.endsWith('::') ? prefix : text.slice(0, lastColon);
  }
  const dbl = s.indexOf('::');
  if (dbl !== s.lastIndexOf('::')) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let words: number[];
  if (dbl >= 0) {
    const head = groups(s.slice(0, dbl));
    const rest = groups(s.slice(dbl + 2));
    if (!head || !rest) return undefined;
    const fill = 8 - head.length - rest.length - tail.length;
    if (fill < 1) return undefined;
    words = [...head, ...new Array<number>(fill).fill(0), ...rest, ...tail];
  } else {
    const all = groups(s);
    if (!all) return undefined;
    words = [...all, ...tail];
    if (words.length !== 8) return undefined;
  }
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >>> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/** True for ::ffff:a.b.c.d (16 bytes). */
export function isV4Mapped(b: Uint8Array): boolean {
  if (b.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/**
 * Parses IPv4 dotted-quad or IPv6 text into 4 or 16 bytes. IPv4 and IPv4-mapped IPv6 both
 * give 4 bytes (the beacon's wire rule). Throws invalid_argument.
 */
export function parseIp(text: string): Uint8Array {
  const v4 = parseV4(text);
  if (v4) return v4;
  const v6 = text.includes(':') ? parseV6(text) : undefined;
  if (!v6) throw bad(text);
  return isV4Mapped(v6) ? v6.slice(12) : v6;
}

/** Formats 4 or 16 address bytes as text. */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) throw new PilotError('invalid_argument', `IP address must be 4 or 16 bytes, got ${b.length}`);
  if (isV4Mapped(b)) return formatIp(b.subarray(12));
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[2 * i]! << 8) | b[2 * i + 1]!);
  // Longest run of zero groups (length ≥ 2), first one on ties.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(w);
  return `${hex(w.slice(0, bestStart))}::${hex(w.slice(bestStart + bestLen))}`;
}
