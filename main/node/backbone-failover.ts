/**
 * Several backbone instances (registry TCP + beacon UDP each, one shared directory): the address
 * lists a node is given and the pure policies that pick which instance it talks to. No sockets, no
 * timers: the registry client (registry-client.ts) and the node (node.ts) drive them.
 *
 * - parseAddressList: `a:9000,b:9000` (or an array of such strings) → endpoints, in preference order.
 * - FailoverPolicy (registry): one current address; a failure moves to the next one at once, and
 *   only a whole round of failures waits (reconnectWait: backoff doubling per round, capped). With
 *   one address this is the plain reconnect backoff (0.5 s, 1 s, 2 s, ...). Connecting to an address
 *   other than the last one connected is a failover, counted.
 * - BeaconSet: every beacon is sent discovers; one whose discover stays unanswered longer than
 *   `deadAfterMs` is down; the active beacon (punch requests, relay) is the first in preference order
 *   that is not down, so a preferred beacon that answers again is used again.
 */
import { PilotError } from '../../shared/errors';
import { formatEndpoint, parseEndpoint, sameHost, type UdpEndpoint } from './udp';

/** `host:port[,host:port...]` (or several such strings) → endpoints; duplicates dropped, order kept. */
export function parseAddressList(text: string | readonly string[], what: string): UdpEndpoint[] {
  const parts = (typeof text === 'string' ? [text] : text).flatMap((t) => t.split(',')).map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new PilotError('invalid_argument', `no ${what} address given`, 'use host:port, or several as host:port,host:port');
  const out: UdpEndpoint[] = [];
  const seen = new Set<string>();
  for (const p of parts) {
    const e = parseEndpoint(p);
    if (!e || e.host === '') throw new PilotError('invalid_argument', `invalid ${what} address "${p}"`, 'use host:port, or several as host:port,host:port');
    const key = formatEndpoint(e);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(e);
  }
  return out;
}

/** `--backbone hostA,hostB` → `hostA:9000,hostB:9000` and `hostA:9001,hostB:9001`. */
export function backboneShorthand(hosts: string): { registry: string; beacon: string } {
  const list = hosts.split(',').map((h) => h.trim()).filter(Boolean);
  if (list.length === 0) throw new PilotError('invalid_argument', 'no --backbone host given', 'use --backbone HOST or --backbone HOST_A,HOST_B');
  const bracket = (h: string): string => (h.includes(':') && !h.startsWith('[') ? `[${h}]` : h);
  for (const h of list) {
    if (/^\[?[^\]]*\]?:\d+$/.test(h) && !/^[0-9a-f:]+$/i.test(h)) {
      throw new PilotError('invalid_argument', `--backbone takes host names, not host:port ("${h}")`, 'use --registry H:P --beacon H:P for other ports');
    }
  }
  return { registry: list.map((h) => `${bracket(h)}:9000`).join(','), beacon: list.map((h) => `${bracket(h)}:9001`).join(',') };
}

/**
 * How long to wait after failed connect attempt number `attempt` (0-based, counted from the start
 * of one reconnect) among `size` addresses: nothing while the round has addresses left, then
 * `backoffMs` doubling per full round, capped at `maxMs`. For one address: backoffMs · 2^attempt.
 */
export function reconnectWait(attempt: number, size: number, backoffMs: number, maxMs = 10_000): number {
  if ((attempt + 1) % size !== 0) return 0;
  const round = (attempt + 1) / size; // 1 after the first full round
  return Math.min(backoffMs * 2 ** (round - 1), maxMs);
}

/** Which registry address to use next (see the file comment). */
export class FailoverPolicy {
  private idx = 0;
  private lastConnected: number | undefined;
  private failoverCount = 0;

  constructor(readonly size: number) {
    if (size < 1) throw new PilotError('invalid_argument', 'a failover policy needs at least one address');
  }

  /** The address to use now. */
  get index(): number {
    return this.idx;
  }
  get failovers(): number {
    return this.failoverCount;
  }
  /** The address last connected to (undefined before the first connect). */
  get connectedIndex(): number | undefined {
    return this.lastConnected;
  }

  /**
   * Connecting to `index` failed (refused, timed out), or an established connection to it broke
   * (reset, closed, no reply in time): the next attempt goes to the next address, when `index` is
   * still the current one (two connections failing on the same instance move once).
   */
  failed(index: number): void {
    if (index === this.idx) this.idx = (this.idx + 1) % this.size;
  }

  /** Connected to `index`. Returns whether that is a failover (another address than the last one connected). */
  connected(index: number): boolean {
    this.idx = index;
    const moved = this.lastConnected !== undefined && this.lastConnected !== index;
    this.lastConnected = index;
    if (moved) this.failoverCount++;
    return moved;
  }
}

export interface BeaconSetOptions {
  /** A discover unanswered this long marks its beacon down (default 3 s). */
  deadAfterMs?: number;
}

interface BeaconState {
  /** When the oldest unanswered discover was sent (undefined: none outstanding). */
  outstandingSince: number | undefined;
  lastReply: number | undefined;
}

/** Liveness of several beacons and the one to use (see the file comment). */
export class BeaconSet {
  private readonly st: BeaconState[];
  private activeIdx = 0;
  private switchCount = 0;
  private readonly deadAfterMs: number;

  constructor(
    readonly beacons: readonly UdpEndpoint[],
    o: BeaconSetOptions = {},
  ) {
    if (beacons.length < 1) throw new PilotError('invalid_argument', 'no beacon address given');
    this.st = beacons.map(() => ({ outstandingSince: undefined, lastReply: undefined }));
    this.deadAfterMs = o.deadAfterMs ?? 3000;
  }

  /** Index of the configured beacon at `from`, or -1. */
  indexOf(from: UdpEndpoint): number {
    return this.beacons.findIndex((b) => b.port === from.port && sameHost(b.host, from.host));
  }

  get active(): UdpEndpoint {
    return this.beacons[this.activeIdx]!;
  }
  get activeIndex(): number {
    return this.activeIdx;
  }
  get switches(): number {
    return this.switchCount;
  }

  sent(i: number, now: number): void {
    const s = this.st[i];
    if (s && s.outstandingSince === undefined) s.outstandingSince = now;
  }

  answered(i: number, now: number): void {
    const s = this.st[i];
    if (!s) return;
    s.outstandingSince = undefined;
    s.lastReply = now;
  }

  /** `i` did not answer a discover we waited for: down from now on, until it answers. */
  unanswered(i: number): void {
    const s = this.st[i];
    if (s) s.outstandingSince = -Infinity;
  }

  down(i: number, now: number): boolean {
    const s = this.st[i];
    return !!s && s.outstandingSince !== undefined && now - s.outstandingSince > this.deadAfterMs;
  }

  /**
   * Re-picks the active beacon: the first not down. When all are down the active one stays.
   * Returns the previous index when the active beacon changed, else undefined. A change is counted
   * in `switches` unless `count` is false (the choice made at start-up is no failover).
   */
  update(now: number, count = true): number | undefined {
    const pick = this.beacons.findIndex((_, i) => !this.down(i, now));
    if (pick < 0 || pick === this.activeIdx) return undefined;
    const prev = this.activeIdx;
    this.activeIdx = pick;
    if (count) this.switchCount++;
    return prev;
  }
}
