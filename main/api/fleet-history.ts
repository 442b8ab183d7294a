/**
 * Path and RTT history per pair of fleet members, kept in the console's node: every sweep of the
 * matrix adds one sample per pair. Bounded three ways: samples older than the window (1 h) are
 * dropped, each pair keeps at most `maxSamples` samples and `maxChanges` changes, and at most
 * `maxPairs` pairs are tracked (the least recently updated pair is forgotten first).
 * A change is a flap when it returns the pair to a path it left less than `flapMs` before. An
 * `unknown` sample (neither end answered that sweep) is kept as a gap and changes nothing.
 */
import type { FleetChangeView, FleetHistoryView, FleetPath, FleetSampleView } from '../../shared/contract-fleet';

export interface FleetHistoryOptions {
  windowMs?: number;
  maxSamples?: number;
  maxChanges?: number;
  maxPairs?: number;
  flapMs?: number;
}

interface PairHistory {
  samples: FleetSampleView[];
  changes: FleetChangeView[];
  /** The last known path (survives the samples' pruning). */
  path: FleetPath | undefined;
  since: number | undefined;
}

const key = (a: number, b: number): string => (a < b ? `${a}-${b}` : `${b}-${a}`);

export class FleetHistory {
  readonly windowMs: number;
  private readonly maxSamples: number;
  private readonly maxChanges: number;
  private readonly maxPairs: number;
  private readonly flapMs: number;
  private readonly pairs = new Map<string, PairHistory>();

  constructor(o: FleetHistoryOptions = {}) {
    this.windowMs = o.windowMs ?? 60 * 60_000;
    this.maxSamples = o.maxSamples ?? 720;
    this.maxChanges = o.maxChanges ?? 200;
    this.maxPairs = o.maxPairs ?? 5000;
    this.flapMs = o.flapMs ?? 5 * 60_000;
  }

  get size(): number {
    return this.pairs.size;
  }

  /** Adds a sample for pair (a, b) at wall-clock `t`; returns the change it made, if any. */
  record(a: number, b: number, t: number, path: FleetPath, rttMs?: number): FleetChangeView | undefined {
    const k = key(a, b);
    let h = this.pairs.get(k);
    if (h) this.pairs.delete(k);
    else {
      h = { samples: [], changes: [], path: undefined, since: undefined };
      while (this.pairs.size >= this.maxPairs) this.pairs.delete(this.pairs.keys().next().value as string);
    }
    this.pairs.set(k, h); // most recently updated last
    const s: FleetSampleView = { t, path };
    if (rttMs !== undefined) s.rttMs = rttMs;
    h.samples.push(s);
    if (path === 'unknown') {
      // A sweep that reached neither end is a gap in the timeline, not a change of path.
      this.prune(h, t);
      return undefined;
    }
    let change: FleetChangeView | undefined;
    if (h.path !== undefined && h.path !== path) {
      const from = h.path;
      const flap = h.changes.some((c) => c.from === path && t - c.t <= this.flapMs);
      change = { t, from, to: path, flap };
      h.changes.push(change);
      h.since = t;
    } else if (h.path === undefined) h.since = t;
    h.path = path;
    this.prune(h, t);
    return change;
  }

  /** When the pair's current path was first seen (its change, or the first sample). */
  since(a: number, b: number): number | undefined {
    return this.pairs.get(key(a, b))?.since;
  }

  counts(a: number, b: number, now: number): { changes: number; flaps: number } {
    const h = this.pairs.get(key(a, b));
    if (!h) return { changes: 0, flaps: 0 };
    const recent = h.changes.filter((c) => now - c.t <= this.windowMs);
    return { changes: recent.length, flaps: recent.filter((c) => c.flap).length };
  }

  view(a: number, b: number, now: number): FleetHistoryView {
    const [lo, hi] = a < b ? [a, b] : [b, a];
    const h = this.pairs.get(key(lo, hi));
    if (h) this.prune(h, now);
    return { a: lo, b: hi, windowMs: this.windowMs, samples: h ? [...h.samples] : [], changes: h ? [...h.changes] : [] };
  }

  private prune(h: PairHistory, now: number): void {
    const cutoff = now - this.windowMs;
    let i = 0;
    while (i < h.samples.length && h.samples[i]!.t < cutoff) i++;
    if (i) h.samples.splice(0, i);
    if (h.samples.length > this.maxSamples) h.samples.splice(0, h.samples.length - this.maxSamples);
    let j = 0;
    while (j < h.changes.length && h.changes[j]!.t < cutoff) j++;
    if (j) h.changes.splice(0, j);
    if (h.changes.length > this.maxChanges) h.changes.splice(0, h.changes.length - this.maxChanges);
  }
}
