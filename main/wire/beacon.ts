/**
 * Beacon messages (beacon.md §2): a 1-byte type below 0x10, then a fixed layout per type.
 * IP addresses are carried as text: IPv4 dotted quad, IPv6 RFC 5952. On encode, IPv4 and
 * IPv4-mapped IPv6 are written as 4 bytes, anything else as 16. Decoding ignores trailing bytes
 * after the fixed fields of discover / discover_reply / punch_request / punch_command / sync.
 * `frame` in relay messages is a VIEW into the decoded buffer.
 */
import { PilotError } from '../../shared/errors';
import { formatIp, parseIp } from './ip';
import { checkU16, checkU32, putU16, putU32, u16, u32 } from './bytes';

export const BEACON_TYPE = {
  DISCOVER: 0x01,
  DISCOVER_REPLY: 0x02,
  PUNCH_REQUEST: 0x03,
  PUNCH_COMMAND: 0x04,
  RELAY: 0x05,
  RELAY_DELIVER: 0x06,
  SYNC: 0x07,
} as const;

export type BeaconMessage =
  | { type: 'discover'; nodeId: number }
  | { type: 'discover_reply'; ip: string; port: number }
  | { type: 'punch_request'; requester: number; target: number }
  | { type: 'punch_command'; ip: string; port: number }
  | { type: 'relay'; sender: number; dest: number; frame: Uint8Array }
  | { type: 'relay_deliver'; sender: number; frame: Uint8Array }
  | { type: 'sync'; beaconId: number; nodeIds: number[] };

function encodeEndpoint(type: number, ip: string, port: number): Uint8Array {
  checkU16('port', port);
  const raw = parseIp(ip);
  const out = new Uint8Array(2 + raw.length + 2);
  out[0] = type;
  out[1] = raw.length;
  out.set(raw, 2);
  putU16(out, 2 + raw.length, port);
  return out;
}

export function encodeBeacon(m: BeaconMessage): Uint8Array {
  switch (m.type) {
    case 'discover': {
      checkU32('node id', m.nodeId);
      const out = new Uint8Array(5);
      out[0] = BEACON_TYPE.DISCOVER;
      putU32(out, 1, m.nodeId);
      return out;
    }
    case 'discover_reply':
      return encodeEndpoint(BEACON_TYPE.DISCOVER_REPLY, m.ip, m.port);
    case 'punch_request': {
      checkU32('requester', m.requester);
      checkU32('target', m.target);
      const out = new Uint8Array(9);
      out[0] = BEACON_TYPE.PUNCH_REQUEST;
      putU32(out, 1, m.requester);
      putU32(out, 5, m.target);
      return out;
    }
    case 'punch_command':
      return encodeEndpoint(BEACON_TYPE.PUNCH_COMMAND, m.ip, m.port);
    case 'relay': {
      checkU32('sender', m.sender);
      checkU32('dest', m.dest);
      const out = new Uint8Array(9 + m.frame.length);
      out[0] = BEACON_TYPE.RELAY;
      putU32(out, 1, m.sender);
      putU32(out, 5, m.dest);
      out.set(m.frame, 9);
      return out;
    }
    case 'relay_deliver': {
      checkU32('sender', m.sender);
      const out = new Uint8Array(5 + m.frame.length);
      out[0] = BEACON_TYPE.RELAY_DELIVER;
      putU32(out, 1, m.sender);
      out.set(m.frame, 5);
      return out;
    }
    case 'sync': {
      checkU32('beacon id', m.beaconId);
      if (m.nodeIds.length > 0xffff) {
        throw new PilotError('invalid_argument', `sync lists at most 65535 node ids, got ${m.nodeIds.length}`);
      }
      const out = new Uint8Array(7 + 4 * m.nodeIds.length);
      out[0] = BEACON_TYPE.SYNC;
      putU32(out, 1, m.beaconId);
      putU16(out, 5, m.nodeIds.length);
      m.nodeIds.forEach((id, i) => {
        checkU32('node id', id);
        putU32(out, 7 + 4 * i, id);
      });
      return out;
    }
  }
}

function need(buf: Uint8Array, n: number, what: string): void {
  if (buf.length < n) throw new PilotError('short_buffer', `beacon ${what} too short: ${buf.length} bytes, need ${n}`);
}

function decodeEndpoint(buf: Uint8Array, what: string): { ip: string; port: number } {
  need(buf, 2, what);
  const ipLen = buf[1]!;
  if (ipLen !== 4 && ipLen !== 16) throw new PilotError('invalid_argument', `beacon ${what}: bad ip length ${ipLen}`);
  need(buf, 2 + ipLen + 2, what);
  return { ip: formatIp(buf.subarray(2, 2 + ipLen)), port: u16(buf, 2 + ipLen) };
}

export function decodeBeacon(buf: Uint8Array): BeaconMessage {
  if (buf.length < 1) throw new PilotError('short_buffer', 'empty beacon message');
  const t = buf[0]!;
  switch (t) {
    case BEACON_TYPE.DISCOVER:
      need(buf, 5, 'discover');
      return { type: 'discover', nodeId: u32(buf, 1) };
    case BEACON_TYPE.DISCOVER_REPLY:
      return { type: 'discover_reply', ...decodeEndpoint(buf, 'discover reply') };
    case BEACON_TYPE.PUNCH_REQUEST:
      need(buf, 9, 'punch request');
      return { type: 'punch_request', requester: u32(buf, 1), target: u32(buf, 5) };
    case BEACON_TYPE.PUNCH_COMMAND:
      return { type: 'punch_command', ...decodeEndpoint(buf, 'punch command') };
    case BEACON_TYPE.RELAY:
      need(buf, 9, 'relay');
      return { type: 'relay', sender: u32(buf, 1), dest: u32(buf, 5), frame: buf.subarray(9) };
    case BEACON_TYPE.RELAY_DELIVER:
      need(buf, 5, 'relay deliver');
      return { type: 'relay_deliver', sender: u32(buf, 1), frame: buf.subarray(5) };
    case BEACON_TYPE.SYNC: {
      need(buf, 7, 'sync');
      const count = u16(buf, 5);
      need(buf, 7 + 4 * count, 'sync');
      const nodeIds: number[] = [];
      for (let i = 0; i < count; i++) nodeIds.push(u32(buf, 7 + 4 * i));
      return { type: 'sync', beaconId: u32(buf, 1), nodeIds };
    }
    default:
      throw new PilotError('invalid_argument', `unknown beacon type: 0x${t.toString(16).padStart(2, '0')}`);
  }
}
