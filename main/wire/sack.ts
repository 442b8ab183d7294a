/**
 * SACK block list carried in the payload of a stream ACK (transport.md §6.2):
 * ASCII "SACK", u8 block count n (1–4), then n × (left u32, right u32) big-endian;
 * `left` = first seq held, `right` = first seq after the block.
 *
 * Quirk (reference behaviour, unavoidable for interop): application data whose first bytes are
 * "SACK" + a byte 1–4 and that is at least 5 + 8n bytes long is taken for a SACK list by the
 * receiver and never delivered.
 */
import { PilotError } from '../../shared/errors';

export const SACK_MAGIC: Uint8Array = Uint8Array.of(0x53, 0x41, 0x43, 0x4b);
export const MAX_SACK_BLOCKS = 4;

export interface SackBlock {
  left: number;
  right: number;
}

function checkU32(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new PilotError('invalid_argument', `SACK ${what} out of range: ${n}`);
  }
}

export function encodeSack(blocks: readonly SackBlock[]): Uint8Array {
  const n = blocks.length;
  if (n < 1 || n > MAX_SACK_BLOCKS) {
    throw new PilotError('invalid_argument', `SACK needs 1..${MAX_SACK_BLOCKS} blocks, got ${n}`);
  }
  const out = new Uint8Array(5 + 8 * n);
  out[0] = 0x53;
  out[1] = 0x41;
  out[2] = 0x43;
  out[3] = 0x4b;
  out[4] = n;
  const v = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    const b = blocks[i]!;
    checkU32(b.left, 'left');
    checkU32(b.right, 'right');
    v.setUint32(5 + 8 * i, b.left);
    v.setUint32(9 + 8 * i, b.right);
  }
  return out;
}

/** True when `p` is recognised as a SACK list (the reference's rule; see the quirk above). */
export function isSack(p: Uint8Array): boolean {
  if (p.length < 5 || p[0] !== 0x53 || p[1] !== 0x41 || p[2] !== 0x43 || p[3] !== 0x4b) return false;
  const n = p[4]!;
  return n >= 1 && n <= MAX_SACK_BLOCKS && p.length >= 5 + 8 * n;
}

/** The blocks of a SACK payload, or `undefined` when the payload is not one (then it is data). */
export function decodeSack(p: Uint8Array): SackBlock[] | undefined {
  if (!isSack(p)) return undefined;
  const n = p[4]!;
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const blocks: SackBlock[] = [];
  for (let i = 0; i < n; i++) blocks.push({ left: v.getUint32(5 + 8 * i), right: v.getUint32(9 + 8 * i) });
  return blocks;
}
