import type { FleetHistoryView, FleetPath } from '../../../../shared/contract';

export interface Timeline {
  start: number;
  end: number;
  /** Consecutive samples on one path, merged. */
  segments: { from: number; to: number; path: FleetPath }[];
  rtt: { t: number; rttMs: number }[];
  maxRtt: number;
}

/** A pair's samples as path segments (each runs until the next sample) and RTT points over the window ending `now`. */
export function timelineOf(h: FleetHistoryView, now: number): Timeline {
  const first = h.samples[0]?.t ?? now;
  const start = Math.max(now - h.windowMs, Math.min(first, now));
  const end = Math.max(now, start + 1);
  const segments: Timeline['segments'] = [];
  h.samples.forEach((s, i) => {
    const to = h.samples[i + 1]?.t ?? end;
    const last = segments[segments.length - 1];
    if (last && last.path === s.path && last.to === s.t) last.to = to;
    else segments.push({ from: Math.max(start, s.t), to, path: s.path });
  });
  const rtt = h.samples.filter((s): s is typeof s & { rttMs: number } => s.rttMs !== undefined).map((s) => ({ t: s.t, rttMs: s.rttMs }));
  return { start, end, segments, rtt, maxRtt: rtt.reduce((m, p) => Math.max(m, p.rttMs), 0) };
}
