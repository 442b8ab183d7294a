/**
 * The beacon (beacon.md §1-§3): UDP endpoint discovery, hole-punch coordination and relay.
 *
 * - discover → records table[node] = source, replies discover_reply with the observed ip:port;
 * - punch_request → records the requester, sends punch_command to BOTH sides (dropped when the
 *   target is unknown);
 * - relay → relay_deliver to the destination's recorded endpoint (sender entry not updated),
 *   with per-sender token buckets for packets/s and bytes/s;
 * - anything malformed or unexpected is dropped and counted, never answered.
 *
 * Difference from the reference: table entries not refreshed for `expireMs` (10 min) are expired
 * (the reference never expires them); gossip (sync) from peer beacons is counted and ignored —
 * this beacon does not cluster.
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { decodeBeacon, encodeBeacon } from '../wire/beacon';
import type { Clock, TimerHandle } from '../util/clock';
import type { Logger } from '../util/log';
import { TokenBucket } from '../util/token-bucket';

export interface BeaconServerOptions {
  host: string;
  port: number;
  clock: Clock;
  logger: Logger;
  relayPacketsPerSec?: number;
  relayPacketsBurst?: number;
  relayBytesPerSec?: number;
  relayBytesBurst?: number;
  /** Forget endpoints not heard from for this long (default 10 min). */
  expireMs?: number;
  /**
   * Whether to coordinate a punch from `requester` (as claimed) at `from` ("ip:port") towards
   * `target` (the embedded backbone asks the registry's visibility rule; default: always).
   */
  admitPunch?: (requester: number, target: number, from: string) => boolean;
  sweepIntervalMs?: number;
}

export interface BeaconStats {
  tableSize: number;
  datagrams: number;
  discovers: number;
  punches: number;
  relayedFrames: number;
  relayedBytes: number;
  /** Everything not acted on: malformed + unexpected + unknown destination + rate limited. */
  dropped: number;
  malformed: number;
  unexpected: number;
  unknownDest: number;
  rateLimited: number;
  /** Punch requests refused by `admitPunch` (a private target the requester may not see). */
  refused: number;
  expired: number;
}

interface Endpoint {
  ip: string;
  port: number;
  seen: number;
}

export class BeaconServer {
  private readonly sock: dgram.Socket;
  private readonly table = new Map<number, Endpoint>();
  private readonly limits = new Map<number, { packets: TokenBucket; bytes: TokenBucket }>();
  private sweepTimer: TimerHandle | undefined;
  private closed = false;
  private readonly log: Logger;
  private readonly st: Omit<BeaconStats, 'tableSize'> = {
    datagrams: 0,
    discovers: 0,
    punches: 0,
    relayedFrames: 0,
    relayedBytes: 0,
    dropped: 0,
    malformed: 0,
    unexpected: 0,
    unknownDest: 0,
    rateLimited: 0,
    refused: 0,
    expired: 0,
  };
  private readonly pps: number;
  private readonly ppsBurst: number;
  private readonly bps: number;
  private readonly bpsBurst: number;
  private readonly expireMs: number;

  private constructor(private readonly opts: BeaconServerOptions) {
    this.log = opts.logger.child({ component: 'beacon' });
    this.pps = opts.relayPacketsPerSec ?? 5_000;
    this.ppsBurst = opts.relayPacketsBurst ?? 2 * this.pps;
    this.bps = opts.relayBytesPerSec ?? 16 * 1024 * 1024;
    this.bpsBurst = opts.relayBytesBurst ?? 2 * this.bps;
    this.expireMs = opts.expireMs ?? 10 * 60_000;
    this.sock = dgram.createSocket({ type: isIP(opts.host) === 6 ? 'udp6' : 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  }

  static async start(opts: BeaconServerOptions): Promise<BeaconServer> {
    const b = new BeaconServer(opts);
    await new Promise<void>((resolve, reject) => {
      b.sock.once('error', reject);
      b.sock.bind(opts.port, opts.host, () => {
        b.sock.off('error', reject);
        resolve();
      });
    });
    b.sock.on('error', (e) => b.log.warn('socket error', { err: e.message }));
    b.sock.on('message', (msg, rinfo) => b.onMessage(msg, rinfo));
    b.armSweep();
    const a = b.address();
    b.log.info('beacon listening', { host: a.host, port: a.port });
    return b;
  }

  address(): { host: string; port: number } {
    const a = this.sock.address();
    return { host: a.address, port: a.port };
  }

  stats(): BeaconStats {
    return { ...this.st, tableSize: this.table.size };
  }

  /** The recorded endpoint of a node (tests, status). */
  endpointOf(nodeId: number): { ip: string; port: number } | undefined {
    const e = this.table.get(nodeId);
    return e ? { ip: e.ip, port: e.port } : undefined;
  }

  private drop(kind: 'malformed' | 'unexpected' | 'unknownDest' | 'rateLimited' | 'refused'): void {
    this.st[kind]++;
    this.st.dropped++;
  }

  private send(buf: Uint8Array, ip: string, port: number): void {
    if (this.closed) return;
    try {
      this.sock.send(buf, port, ip, (err) => {
        if (err) this.log.debug('send failed', { err: err.message, to: `${ip}:${port}` });
      });
    } catch (e) {
      this.log.debug('send refused', { err: e instanceof Error ? e.message : String(e), to: `${ip}:${port}` });
    }
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    this.st.datagrams++;
    let m;
    try {
      m = decodeBeacon(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength));
    } catch {
      this.drop('malformed');
      return;
    }
    const now = this.opts.clock.now();
    switch (m.type) {
      case 'discover': {
        this.st.discovers++;
        if (m.nodeId !== 0) this.table.set(m.nodeId, { ip: rinfo.address, port: rinfo.port, seen: now });
        this.send(encodeBeacon({ type: 'discover_reply', ip: rinfo.address, port: rinfo.port }), rinfo.address, rinfo.port);
        return;
      }
      case 'punch_request': {
        this.st.punches++;
        if (m.requester !== 0) this.table.set(m.requester, { ip: rinfo.address, port: rinfo.port, seen: now });
        const target = this.table.get(m.target);
        if (!target) {
          this.drop('unknownDest');
          return;
        }
        if (this.opts.admitPunch && !this.opts.admitPunch(m.requester, m.target, formatHostPort(rinfo.address, rinfo.port))) {
          this.drop('refused');
          return;
        }
        this.send(encodeBeacon({ type: 'punch_command', ip: target.ip, port: target.port }), rinfo.address, rinfo.port);
        this.send(encodeBeacon({ type: 'punch_command', ip: rinfo.address, port: rinfo.port }), target.ip, target.port);
        return;
      }
      case 'relay': {
        const dest = this.table.get(m.dest);
        if (!dest) {
          this.drop('unknownDest');
          return;
        }
        let lim = this.limits.get(m.sender);
        if (!lim) {
          lim = { packets: new TokenBucket(this.pps, this.ppsBurst, now), bytes: new TokenBucket(this.bps, this.bpsBurst, now) };
          this.limits.set(m.sender, lim);
        }
        if (!lim.packets.take(now) || !lim.bytes.take(now, m.frame.length)) {
          this.drop('rateLimited');
          return;
        }
        this.st.relayedFrames++;
        this.st.relayedBytes += m.frame.length;
        this.send(encodeBeacon({ type: 'relay_deliver', sender: m.sender, frame: m.frame }), dest.ip, dest.port);
        return;
      }
      case 'sync':
      case 'discover_reply':
      case 'punch_command':
      case 'relay_deliver':
        this.drop('unexpected');
        return;
    }
  }

  private armSweep(): void {
    this.sweepTimer = this.opts.clock.setTimeout(() => {
      this.sweep();
      if (!this.closed) this.armSweep();
    }, this.opts.sweepIntervalMs ?? 60_000);
  }

  /** Expires endpoints not refreshed for expireMs and idle relay limiters. */
  sweep(): number {
    const now = this.opts.clock.now();
    let n = 0;
    for (const [id, e] of this.table) {
      if (now - e.seen > this.expireMs) {
        this.table.delete(id);
        n++;
      }
    }
    for (const [id, l] of this.limits) if (l.packets.isFull(now) && l.bytes.isFull(now)) this.limits.delete(id);
    this.st.expired += n;
    return n;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweepTimer) this.opts.clock.clearTimeout(this.sweepTimer);
    await new Promise<void>((resolve) => this.sock.close(() => resolve()));
  }
}

/** `ip:port`, with brackets around an IPv6 address: the form the registry keeps endpoints in. */
function formatHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}
