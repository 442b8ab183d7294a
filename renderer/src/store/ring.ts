/** Bounded, append-only arrays: the newest `max` items survive. Pure; returns a new array. */
export function appendBounded<T>(items: readonly T[], added: readonly T[], max: number): T[] {
  if (added.length === 0) return items as T[];
  const total = items.length + added.length;
  if (total <= max) return [...items, ...added];
  if (added.length >= max) return added.slice(added.length - max);
  return [...items.slice(total - max), ...added];
}

export const LIMITS = {
  /** Log lines kept in the page. */
  logs: 5000,
  /** Spans kept in the page (all traces together). */
  spans: 5000,
  /** Ping samples kept per peer. */
  pingSamples: 600,
  /** Path-change markers kept per peer. */
  pathMarks: 100,
  /** Group membership changes kept for the feed. */
  groupEvents: 200,
} as const;
