/**
 * The gateway's mapping table, pure: local IPv4 addresses of a subnet ↔ Pilot addresses. No I/O.
 *
 * Allocation follows what users of the reference see: the first free address counting up from
 * `<network>.1` (10.4.0.1, 10.4.0.2, ...). Mapping an address that is already mapped returns its
 * existing IP; an explicit IP must lie in the subnet and be free. Unlike the reference, the
 * allocator never hands out the subnet's network or broadcast address, and it reuses freed
 * addresses (it rescans from the start), so map/unmap cycles cannot exhaust the subnet.
 */
import { PilotError } from '../../shared/errors';

export interface Subnet {
  /** Network address as an unsigned 32-bit integer. */
  base: number;
  prefix: number;
  /** Number of addresses in the subnet (2^(32-prefix)). */
  size: number;
}

export interface Mapping {
  localIp: string;
  pilotAddr: string;
}

export function parseIpv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255 || (m[i]!.length > 1 && m[i]!.startsWith('0'))) return undefined;
    v = v * 256 + o;
  }
  return v;
}

export function formatIpv4(v: number): string {
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}

/** Parses `a.b.c.d/n` (host bits are cleared, as Go's ParseCIDR does for the network). */
export function parseSubnet(text: string): Subnet {
  const [ip, bits, extra] = text.split('/');
  const addr = ip === undefined ? undefined : parseIpv4(ip);
  const prefix = bits !== undefined && /^\d{1,2}$/.test(bits) ? Number(bits) : NaN;
  if (extra !== undefined || addr === undefined || !(prefix >= 1 && prefix <= 30)) {
    throw new PilotError('invalid_argument', `invalid subnet "${text}": want an IPv4 CIDR such as 10.4.0.0/16 (prefix 1-30)`);
  }
  const size = 2 ** (32 - prefix);
  return { base: addr - (addr % size), prefix, size };
}

export function formatSubnet(s: Subnet): string {
  return `${formatIpv4(s.base)}/${s.prefix}`;
}

export function subnetContains(s: Subnet, ip: number): boolean {
  return ip >= s.base && ip < s.base + s.size;
}

export class MappingTable {
  readonly subnet: Subnet;
  /** local IP (number) → pilot address text; insertion order is the listing order. */
  private readonly forward = new Map<number, string>();
  private readonly reverse = new Map<string, number>();

  constructor(subnet: string | Subnet) {
    this.subnet = typeof subnet === 'string' ? parseSubnet(subnet) : subnet;
  }

  /**
   * Maps `pilotAddr` (canonical address text) to `ip`, or to the first free address when `ip` is
   * absent. Returns the mapping and whether it is new (false: the address was mapped already).
   */
  map(pilotAddr: string, ip?: string): { mapping: Mapping; created: boolean } {
    const existing = this.reverse.get(pilotAddr);
    if (existing !== undefined) return { mapping: { localIp: formatIpv4(existing), pilotAddr }, created: false };
    let v: number;
    if (ip === undefined) {
      v = this.allocate();
    } else {
      const p = parseIpv4(ip);
      if (p === undefined) throw new PilotError('invalid_argument', `invalid IP: ${ip}`);
      if (!subnetContains(this.subnet, p)) throw new PilotError('invalid_argument', `IP ${ip} not in subnet ${formatSubnet(this.subnet)}`);
      if (this.forward.has(p)) throw new PilotError('already_exists', `IP ${ip} already mapped to ${this.forward.get(p)}`);
      v = p;
    }
    this.forward.set(v, pilotAddr);
    this.reverse.set(pilotAddr, v);
    return { mapping: { localIp: formatIpv4(v), pilotAddr }, created: true };
  }

  /** Removes the mapping of `ip`; returns it. */
  unmap(ip: string): Mapping {
    const v = parseIpv4(ip);
    if (v === undefined) throw new PilotError('invalid_argument', `invalid IP: ${ip}`);
    const addr = this.forward.get(v);
    if (addr === undefined) throw new PilotError('not_found', `no mapping for ${ip}`);
    this.forward.delete(v);
    this.reverse.delete(addr);
    return { localIp: formatIpv4(v), pilotAddr: addr };
  }

  lookup(ip: string): string | undefined {
    const v = parseIpv4(ip);
    return v === undefined ? undefined : this.forward.get(v);
  }

  list(): Mapping[] {
    return [...this.forward].map(([v, pilotAddr]) => ({ localIp: formatIpv4(v), pilotAddr }));
  }

  get size(): number {
    return this.forward.size;
  }

  private allocate(): number {
    // Skip the network address; skip the broadcast address too.
    for (let off = 1; off < this.subnet.size - 1; off++) {
      const v = this.subnet.base + off;
      if (!this.forward.has(v)) return v;
    }
    throw new PilotError('invalid_state', `subnet ${formatSubnet(this.subnet)} exhausted`);
  }
}
