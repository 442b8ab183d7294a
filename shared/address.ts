import { PilotError } from './errors';

/**
 * A 48-bit Pilot virtual address: 16-bit network id + 32-bit node id (wire.md §1).
 * Text form (the reference code's, not the spec's): `<net decimal>:<NET4HEX>.<NODEHI4HEX>.<NODELO4HEX>`.
 */
export interface Address {
  readonly network: number;
  readonly node: number;
}

export const ADDRESS_SIZE = 6;
export const BROADCAST_NODE = 0xffffffff;
export const BACKBONE_NETWORK = 0;

/** Reserved labels (defined by the reference, nothing routes to them). */
export const SPECIAL_NODES = { registry: 1, beacon: 2, nameserver: 3 } as const;

export const ZERO_ADDRESS: Address = Object.freeze({ network: 0, node: 0 });

function checkNetwork(n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) {
    throw new PilotError('invalid_argument', `network id out of range: ${n}`, 'network ids are 0..65535');
  }
}
function checkNode(n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new PilotError('invalid_argument', `node id out of range: ${n}`, 'node ids are 0..4294967295');
  }
}

export function makeAddress(network: number, node: number): Address {
  checkNetwork(network);
  checkNode(node);
  return { network, node };
}

/** Backbone (network 0) address of a node id. */
export function backboneAddress(node: number): Address {
  return makeAddress(BACKBONE_NETWORK, node);
}

export function broadcastAddress(network: number): Address {
  return makeAddress(network, BROADCAST_NODE);
}

export function isBroadcast(a: Address): boolean {
  return a.node === BROADCAST_NODE;
}

export function addressEquals(a: Address, b: Address): boolean {
  return a.network === b.network && a.node === b.node;
}

/** A number unique per address, usable as a Map key (network * 2^32 + node; exact in a double). */
export function addressKey(a: Address): number {
  return a.network * 0x1_0000_0000 + a.node;
}

function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}

export function formatAddress(a: Address): string {
  return `${a.network}:${hex4(a.network)}.${hex4(a.node >>> 16)}.${hex4(a.node & 0xffff)}`;
}

const HEX4 = /^[0-9a-fA-F]{4}$/;
const DECIMAL = /^[0-9]+$/;

/**
 * Parses the reference's text form. Each group must be exactly 4 hex digits (either case) and the
 * hex network group must equal the decimal prefix ("network mismatch" otherwise).
 */
export function parseAddress(text: string): Address {
  const bad = (why: string): PilotError =>
    new PilotError('invalid_argument', `invalid address "${text}": ${why}`, 'addresses look like 0:0000.0000.0007');
  const colon = text.indexOf(':');
  if (colon <= 0) throw bad('missing network prefix');
  const netText = text.slice(0, colon);
  const groups = text.slice(colon + 1).split('.');
  if (!DECIMAL.test(netText)) throw bad('network prefix is not a decimal number');
  if (groups.length !== 3) throw bad('expected three dot-separated groups');
  for (const g of groups) if (!HEX4.test(g)) throw bad('each group must be 4 hex digits');
  const network = Number(netText);
  if (network > 0xffff) throw bad('network id out of range');
  const netHex = parseInt(groups[0]!, 16);
  if (netHex !== network) throw bad('network mismatch');
  const node = ((parseInt(groups[1]!, 16) << 16) >>> 0) + parseInt(groups[2]!, 16);
  return { network, node };
}

export function tryParseAddress(text: string): Address | undefined {
  try {
    return parseAddress(text);
  } catch {
    return undefined;
  }
}

/** 6-byte wire form: u16 network, u32 node, big-endian. */
export function encodeAddress(a: Address, out: Uint8Array = new Uint8Array(ADDRESS_SIZE), offset = 0): Uint8Array {
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  v.setUint16(offset, a.network);
  v.setUint32(offset + 2, a.node);
  return out;
}

export function decodeAddress(bytes: Uint8Array, offset = 0): Address {
  if (bytes.length < offset + ADDRESS_SIZE) {
    throw new PilotError('short_buffer', `address needs ${ADDRESS_SIZE} bytes, have ${bytes.length - offset}`);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { network: v.getUint16(offset), node: v.getUint32(offset + 2) };
}

/** A virtual socket address: address + 16-bit port. */
export interface SocketAddress {
  readonly addr: Address;
  readonly port: number;
}

export function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw new PilotError('invalid_argument', `port out of range: ${port}`, 'ports are 0..65535');
  }
  return port;
}

export function formatSocketAddress(s: SocketAddress): string {
  return `${formatAddress(s.addr)}:${s.port}`;
}

/** Splits at the last colon: `<address>:<port>`. */
export function parseSocketAddress(text: string): SocketAddress {
  const i = text.lastIndexOf(':');
  if (i <= 0) throw new PilotError('invalid_argument', `invalid socket address "${text}"`, 'use <address>:<port>');
  const portText = text.slice(i + 1);
  if (!DECIMAL.test(portText)) throw new PilotError('invalid_argument', `invalid port in "${text}"`, 'ports are 0..65535');
  return { addr: parseAddress(text.slice(0, i)), port: checkPort(Number(portText)) };
}

/** Well-known virtual ports (wire.md §2). */
export const PORTS = {
  controlPing: 0,
  echo: 7,
  nameserver: 53,
  secure: 443,
  trust: 444,
  stdio: 1000,
  dataExchange: 1001,
  eventStream: 1002,
  taskSubmit: 1003,
} as const;

export const EPHEMERAL_PORT_MIN = 49152;
export const EPHEMERAL_PORT_MAX = 65535;
