/**
 * Pacing: segments leave at most at the controller's pacing rate instead of in window-sized bursts.
 * A credit of `burstMs` worth of bytes (at least two segments) may be spent at once, so a driver whose
 * timer fires late (a real event loop: ≥ 1 ms) catches up instead of losing the rate. Pure: the sender
 * asks `ready(now)` before each transmission, reports each one with `sent`, and while it waits only
 * for pacing the connection's deadline includes `nextAt` (see Sender.paceAt).
 */

/** Burst credit, ms of the pacing rate. */
export const PACING_BURST_MS = 1;

export class Pacer {
  /** Earliest time the next segment may leave (-Infinity: now). */
  nextAt = -Infinity;
  private readonly minBurst: number;

  constructor(segmentSize: number) {
    this.minBurst = 2 * segmentSize;
  }

  /** A segment may leave now at `rate` (bytes per ms; Infinity: no pacing). */
  ready(now: number, rate: number): boolean {
    return rate === Infinity || this.nextAt <= now;
  }

  /** `bytes` left at `now`. */
  sent(bytes: number, now: number, rate: number): void {
    if (rate === Infinity || rate <= 0) return;
    const credit = Math.max(this.minBurst, rate * PACING_BURST_MS) / rate;
    const base = this.nextAt > now - credit ? this.nextAt : now - credit;
    this.nextAt = base + bytes / rate;
  }

  reset(): void {
    this.nextAt = -Infinity;
  }
}
