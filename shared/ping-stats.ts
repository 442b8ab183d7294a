/**
 * Ping statistics, computed one way for the node's PingReport and the console's latency panel:
 * nearest-rank percentiles over the round-trip times that came back.
 */

/** Nearest-rank percentile over ascending values. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export interface RttStats {
  sent: number;
  received: number;
  minMs?: number;
  medianMs?: number;
  p99Ms?: number;
  maxMs?: number;
}

/** Stats over probes in order: a number is an answer's RTT, undefined a probe that got none. */
export function rttStats(rtts: readonly (number | undefined)[]): RttStats {
  const got = rtts.filter((r): r is number => r !== undefined).sort((a, b) => a - b);
  const stats: RttStats = { sent: rtts.length, received: got.length };
  if (got.length) {
    stats.minMs = got[0]!;
    stats.maxMs = got[got.length - 1]!;
    stats.medianMs = percentile(got, 50)!;
    stats.p99Ms = percentile(got, 99)!;
  }
  return stats;
}
