/**
 * Time as components see it. Real code gets `systemClock`; tests get a FakeClock and advance it, so
 * retransmission, keepalive and expiry logic is exact and needs no sleeps.
 */
export interface Clock {
  /** Monotonic milliseconds (fractional allowed). */
  now(): number;
  /** Wall-clock milliseconds since the Unix epoch. */
  wallNow(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(h: TimerHandle): void;
}

export interface TimerHandle {
  readonly id: number;
}

let nextRealId = 1;
const realTimers = new Map<number, NodeJS.Timeout>();

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout(fn, ms) {
    const id = nextRealId++;
    const t = setTimeout(() => {
      realTimers.delete(id);
      fn();
    }, ms);
    t.unref?.();
    realTimers.set(id, t);
    return { id };
  },
  clearTimeout(h) {
    const t = realTimers.get(h.id);
    if (t) {
      clearTimeout(t);
      realTimers.delete(h.id);
    }
  },
};

/** A deterministic clock for tests: timers fire only when `advance` moves time past them. */
export class FakeClock implements Clock {
  private t: number;
  private wallBase: number;
  private seq = 1;
  private timers = new Map<number, { at: number; fn: () => void; order: number }>();

  constructor(start = 0, wallStart = 1_700_000_000_000) {
    this.t = start;
    this.wallBase = wallStart - start;
  }

  now(): number {
    return this.t;
  }
  wallNow(): number {
    return this.wallBase + this.t;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.seq++;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn, order: id });
    return { id };
  }
  clearTimeout(h: TimerHandle): void {
    this.timers.delete(h.id);
  }
  /** Number of armed timers. */
  get pending(): number {
    return this.timers.size;
  }
  /** Moves time forward by `ms`, firing due timers in time order (timers armed meanwhile included). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let nextId = -1;
      let next: { at: number; fn: () => void; order: number } | undefined;
      for (const [id, tm] of this.timers) {
        if (tm.at <= end && (!next || tm.at < next.at || (tm.at === next.at && tm.order < next.order))) {
          next = tm;
          nextId = id;
        }
      }
      if (!next) break;
      this.timers.delete(nextId);
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
  }
}
