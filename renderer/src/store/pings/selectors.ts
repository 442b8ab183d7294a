import type { RootState } from '../root';
import type { PeerPings, PingSample } from './state';

export const selectPeerPings = (nodeId: number) => (s: RootState): PeerPings | undefined => s.pings.byPeer[nodeId];

export interface LatencyStats {
  sent: number;
  received: number;
  lossPct: number;
  minMs?: number;
  medianMs?: number;
  p99Ms?: number;
  maxMs?: number;
  lastMs?: number;
}

/** Nearest-rank percentile over sorted values. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function latencyStats(samples: readonly PingSample[]): LatencyStats {
  const rtts = samples.flatMap((s) => (s.rttMs === undefined ? [] : [s.rttMs]));
  const sorted = [...rtts].sort((a, b) => a - b);
  const stats: LatencyStats = {
    sent: samples.length,
    received: rtts.length,
    lossPct: samples.length ? (100 * (samples.length - rtts.length)) / samples.length : 0,
  };
  if (sorted.length) {
    stats.minMs = sorted[0];
    stats.maxMs = sorted[sorted.length - 1];
    stats.medianMs = percentile(sorted, 50);
    stats.p99Ms = percentile(sorted, 99);
    stats.lastMs = rtts[rtts.length - 1];
  }
  return stats;
}

/** The most recent reply that carried a path, i.e. the path pings currently take. */
export function currentPath(p: PeerPings | undefined): PingSample['path'] {
  if (!p) return undefined;
  for (let i = p.samples.length - 1; i >= 0; i--) {
    const s = p.samples[i];
    if (s?.path) return s.path;
  }
  return p.marks[p.marks.length - 1]?.to;
}
