/**
 * The node's side of several beacons (thin driver over BeaconSet, backbone-failover.ts): discovers
 * go to every configured beacon (each learns our tunnel endpoint, so relay and punch work through
 * any of them), replies mark a beacon alive, and every `probeMs` the active beacon — the one punch
 * requests and relayed frames go to — is re-picked: the first in preference order that answered.
 * With one beacon nothing is probed and the beacon never changes (the node behaves as before).
 */
import type { Clock, TimerHandle } from '../util/clock';
import type { Logger } from '../util/log';
import { BeaconSet } from './backbone-failover';
import { formatEndpoint, type UdpEndpoint } from './udp';

export interface BeaconClientHost {
  readonly clock: Clock;
  readonly log: Logger;
  /** Sends our discover to `to` from the tunnel socket. */
  sendDiscover(to: UdpEndpoint): void;
  /** The active beacon changed. */
  onActive(to: UdpEndpoint, from: UdpEndpoint): void;
}

export class BeaconClient {
  readonly set: BeaconSet;
  private timer: TimerHandle | undefined;
  private stopped = false;
  private readonly deadAfterMs: number;

  constructor(
    beacons: readonly UdpEndpoint[],
    private readonly h: BeaconClientHost,
    private readonly probeMs = 5000,
  ) {
    this.deadAfterMs = Math.max(1000, Math.round(probeMs * 0.6));
    this.set = new BeaconSet(beacons, { deadAfterMs: this.deadAfterMs });
  }

  get active(): UdpEndpoint {
    return this.set.active;
  }
  get several(): boolean {
    return this.set.beacons.length > 1;
  }
  isBeacon(from: UdpEndpoint): boolean {
    return this.set.indexOf(from) >= 0;
  }

  /** Discover to every beacon (the active one only when there is one). */
  discoverAll(): void {
    const now = this.h.clock.now();
    this.set.beacons.forEach((b, i) => {
      if (this.several) this.set.sent(i, now);
      this.h.sendDiscover(b);
    });
  }

  /** A discover_reply from `from`. */
  answered(from: UdpEndpoint): void {
    const i = this.set.indexOf(from);
    if (i < 0) return;
    this.set.answered(i, this.h.clock.now());
    if (this.several) this.repick();
  }

  /** The start-up discovers: the beacons that did not answer are down (until they do). */
  settle(answered: readonly boolean[]): void {
    answered.forEach((ok, i) => {
      if (!ok) this.set.unanswered(i);
    });
    if (this.several) this.repick(false);
  }

  /** Starts the periodic probe (only with several beacons); the first round after `firstMs`. */
  start(firstMs = this.probeMs): void {
    if (!this.several || this.stopped) return;
    if (this.timer) this.h.clock.clearTimeout(this.timer);
    this.timer = this.h.clock.setTimeout(() => {
      this.timer = undefined;
      this.repick();
      this.discoverAll();
      this.start();
    }, firstMs);
  }

  /**
   * Probes every beacon now and re-picks as soon as an unanswered one counts as down (the registry
   * of a backbone instance just failed: its beacon has probably gone with it).
   */
  probeNow(): void {
    if (!this.several || this.stopped) return;
    this.discoverAll();
    this.start(this.deadAfterMs + 50);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.h.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private repick(failover = true): void {
    const prev = this.set.update(this.h.clock.now(), failover);
    if (prev === undefined) return;
    const from = this.set.beacons[prev]!;
    const to = this.set.active;
    if (failover) this.h.log.warn('beacon failover', { from: formatEndpoint(from), to: formatEndpoint(to), switches: this.set.switches });
    else this.h.log.warn('beacon did not answer at start', { beacon: formatEndpoint(from), using: formatEndpoint(to) });
    this.h.onActive(to, from);
  }
}
