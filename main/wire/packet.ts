/**
 * Pilot packet: 34-byte header + payload (wire.md §3). Pure codec over Uint8Array.
 *
 * Layout (big-endian): ver<<4|flags u8, protocol u8, payload length u16, src addr(6), dst addr(6),
 * src port u16, dst port u16, seq u32, ack u32, window u16, checksum u32 (CRC-32/IEEE over header
 * with checksum = 0, followed by the payload).
 */
import type { Address } from '../../shared/address';
import { PilotError } from '../../shared/errors';
import { crc32, crc32Update } from './crc32';

export const HEADER_SIZE = 34;
export const PROTOCOL_VERSION = 1;
export const MAX_PAYLOAD = 0xffff;

export const FLAG_SYN = 0x1;
export const FLAG_ACK = 0x2;
export const FLAG_FIN = 0x4;
export const FLAG_RST = 0x8;

export const PROTO_STREAM = 0x01;
export const PROTO_DATAGRAM = 0x02;
export const PROTO_CONTROL = 0x03;

/** Offset of the checksum field inside the header. */
export const CHECKSUM_OFFSET = 30;

export interface Packet {
  version: number;
  flags: number;
  protocol: number;
  src: Address;
  dst: Address;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  window: number;
  payload: Uint8Array;
}

export type PacketInput = Omit<Packet, 'version'> & { version?: number };

function bad(field: string, value: number, max: number): PilotError {
  return new PilotError('invalid_argument', `packet ${field} out of range: ${value}`, `${field} is 0..${max}`);
}

function check(field: string, value: number, max: number): void {
  // Integer in [0, max]; written without Number.isInteger for speed on the hot path.
  if (!(value >= 0 && value <= max && value === Math.floor(value))) throw bad(field, value, max);
}

/** Encoded size of a packet (header + payload). */
export function packetSize(p: Pick<Packet, 'payload'>): number {
  return HEADER_SIZE + p.payload.length;
}

/**
 * Writes the packet at `out[offset..]` and computes the checksum in place.
 * Returns the number of bytes written (34 + payload length). Throws invalid_argument for fields
 * out of range and short_buffer when `out` has no room.
 */
export function encodePacketInto(p: PacketInput, out: Uint8Array, offset: number): number {
  const version = p.version ?? PROTOCOL_VERSION;
  check('version', version, 0xf);
  check('flags', p.flags, 0xf);
  check('protocol', p.protocol, 0xff);
  check('src.network', p.src.network, 0xffff);
  check('src.node', p.src.node, 0xffffffff);
  check('dst.network', p.dst.network, 0xffff);
  check('dst.node', p.dst.node, 0xffffffff);
  check('srcPort', p.srcPort, 0xffff);
  check('dstPort', p.dstPort, 0xffff);
  check('seq', p.seq, 0xffffffff);
  check('ack', p.ack, 0xffffffff);
  check('window', p.window, 0xffff);
  const len = p.payload.length;
  if (len > MAX_PAYLOAD) throw new PilotError('invalid_argument', `packet payload too large: ${len} bytes`, 'at most 65535');
  const total = HEADER_SIZE + len;
  if (offset < 0 || offset + total > out.length) {
    throw new PilotError('short_buffer', `packet needs ${total} bytes at offset ${offset}, buffer has ${out.length}`);
  }
  const v = new DataView(out.buffer, out.byteOffset + offset, total);
  v.setUint8(0, (version << 4) | p.flags);
  v.setUint8(1, p.protocol);
  v.setUint16(2, len);
  v.setUint16(4, p.src.network);
  v.setUint32(6, p.src.node);
  v.setUint16(10, p.dst.network);
  v.setUint32(12, p.dst.node);
  v.setUint16(16, p.srcPort);
  v.setUint16(18, p.dstPort);
  v.setUint32(20, p.seq);
  v.setUint32(24, p.ack);
  v.setUint16(28, p.window);
  v.setUint32(CHECKSUM_OFFSET, 0);
  out.set(p.payload, offset + HEADER_SIZE);
  v.setUint32(CHECKSUM_OFFSET, crc32(out, offset, offset + total));
  return total;
}

/** Encodes a packet into a fresh buffer (version defaults to 1). */
export function encodePacket(p: PacketInput): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + p.payload.length);
  encodePacketInto(p, out, 0);
  return out;
}

/**
 * Decodes and verifies a packet.
 *
 * The returned `payload` is a subarray VIEW into `bytes` (no copy): copy it if `bytes` is reused.
 * Errors: short_buffer (fewer than 34 bytes, or fewer than 34 + payload length), bad_version
 * (version nibble ≠ 1), bad_checksum. Trailing bytes beyond 34 + length are ignored, as the
 * reference does.
 */
export function decodePacket(bytes: Uint8Array): Packet {
  if (bytes.length < HEADER_SIZE) {
    throw new PilotError('short_buffer', `packet too short: ${bytes.length} bytes, header is ${HEADER_SIZE}`);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const b0 = v.getUint8(0);
  const version = b0 >>> 4;
  if (version !== PROTOCOL_VERSION) throw new PilotError('bad_version', `unsupported packet version ${version}`);
  const len = v.getUint16(2);
  const total = HEADER_SIZE + len;
  if (bytes.length < total) {
    throw new PilotError('short_buffer', `packet truncated: payload length ${len} needs ${total} bytes, have ${bytes.length}`);
  }
  const stored = v.getUint32(CHECKSUM_OFFSET);
  // CRC over the header with the checksum field treated as zero, then the payload.
  const computed = crc32WithZeroedChecksum(bytes, total);
  if (computed !== stored) {
    throw new PilotError(
      'bad_checksum',
      `packet checksum mismatch: stored ${stored.toString(16).padStart(8, '0')}, computed ${computed.toString(16).padStart(8, '0')}`,
    );
  }
  return {
    version,
    flags: b0 & 0x0f,
    protocol: v.getUint8(1),
    src: { network: v.getUint16(4), node: v.getUint32(6) },
    dst: { network: v.getUint16(10), node: v.getUint32(12) },
    srcPort: v.getUint16(16),
    dstPort: v.getUint16(18),
    seq: v.getUint32(20),
    ack: v.getUint32(24),
    window: v.getUint16(28),
    payload: bytes.subarray(HEADER_SIZE, total),
  };
}

const ZERO4 = new Uint8Array(4);

/** CRC over bytes[0, total) with the checksum field (30..33) read as zero, without mutating `bytes`. */
function crc32WithZeroedChecksum(bytes: Uint8Array, total: number): number {
  let c = crc32Update(0xffffffff, bytes, 0, CHECKSUM_OFFSET);
  c = crc32Update(c, ZERO4, 0, 4);
  c = crc32Update(c, bytes, HEADER_SIZE, total);
  return (c ^ 0xffffffff) >>> 0;
}

/** "SYN|ACK" style rendering of the flag nibble for logs; "none" when 0. */
export function flagsToString(flags: number): string {
  const parts: string[] = [];
  if (flags & FLAG_SYN) parts.push('SYN');
  if (flags & FLAG_ACK) parts.push('ACK');
  if (flags & FLAG_FIN) parts.push('FIN');
  if (flags & FLAG_RST) parts.push('RST');
  const rest = flags & ~0xf;
  if (rest) parts.push(`0x${rest.toString(16)}`);
  return parts.length ? parts.join('|') : 'none';
}

export function protocolToString(protocol: number): string {
  switch (protocol) {
    case PROTO_STREAM:
      return 'stream';
    case PROTO_DATAGRAM:
      return 'datagram';
    case PROTO_CONTROL:
      return 'control';
    default:
      return `0x${protocol.toString(16).padStart(2, '0')}`;
  }
}
