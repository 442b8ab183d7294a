import { rttStats, type RttStats } from '../../../../shared/ping-stats';
import type { RootState } from '../root';
import type { PeerPings, PingSample } from './state';

export const selectPeerPings = (nodeId: number) => (s: RootState): PeerPings | undefined => s.pings.byPeer[nodeId];

export interface LatencyStats extends RttStats {
  lossPct: number;
  lastMs?: number;
}

/** The node's statistics (shared/ping-stats.ts) over the samples, plus loss and the latest RTT. */
export function latencyStats(samples: readonly PingSample[]): LatencyStats {
  const stats: LatencyStats = { ...rttStats(samples.map((s) => s.rttMs)), lossPct: 0 };
  if (stats.sent) stats.lossPct = (100 * (stats.sent - stats.received)) / stats.sent;
  for (let i = samples.length - 1; i >= 0; i--) {
    const rtt = samples[i]?.rttMs;
    if (rtt !== undefined) {
      stats.lastMs = rtt;
      break;
    }
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
