/**
 * A pair's last hour: a band coloured by its path over time, flaps marked (a return to a path it
 * had just left), and its RTT as a line over the band.
 */
import type { FleetHistoryView } from '../../../shared/contract';
import { formatClock, formatMs } from '../lib/format';
import { timelineOf } from '../store/fleet/timeline';

const COLOR: Record<string, string> = { local: '#5aa9ff', direct: '#3fb950', punched: '#39c5cf', relay: '#e3a23b', pending: '#6e7781', none: '#30363d', unknown: '#21262d' };

export function PairTimeline({ h, now, width = 640, height = 90 }: { h: FleetHistoryView; now: number; width?: number; height?: number }): React.JSX.Element {
  const t = timelineOf(h, now);
  const band = 22;
  const x = (ms: number): number => ((ms - t.start) / (t.end - t.start || 1)) * width;
  const y = (rtt: number): number => band + 8 + (1 - rtt / (t.maxRtt || 1)) * (height - band - 14);
  return (
    <div data-testid="pair-timeline" data-changes={h.changes.length} data-flaps={h.changes.filter((c) => c.flap).length}>
      <svg width="100%" viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" role="img" aria-label="path and RTT over the last hour">
        {t.segments.map((s, i) => (
          <rect key={i} x={x(s.from)} y={0} width={Math.max(1, x(s.to) - x(s.from))} height={band} fill={COLOR[s.path] ?? COLOR['unknown']}>
            <title>{`${s.path} ${formatClock(s.from)}–${formatClock(s.to)}`}</title>
          </rect>
        ))}
        {t.rtt.length > 1 && <polyline fill="none" stroke="#c9d3df" strokeWidth={1} points={t.rtt.map((p) => `${x(p.t).toFixed(1)},${y(p.rttMs).toFixed(1)}`).join(' ')} />}
        {h.changes.map((c, i) => (
          <g key={i}>
            <line x1={x(c.t)} x2={x(c.t)} y1={0} y2={height} stroke={c.flap ? '#f85149' : '#8b949e'} strokeDasharray={c.flap ? '' : '2 2'} />
            {c.flap && <path d={`M ${x(c.t) - 5} ${band + 8} L ${x(c.t) + 5} ${band + 8} L ${x(c.t)} ${band} Z`} fill="#f85149" />}
          </g>
        ))}
      </svg>
      <div className="muted" style={{ display: 'flex', justifyContent: 'space-between', fontSize: 11 }}>
        <span>{formatClock(t.start)}</span>
        <span>max RTT {formatMs(t.maxRtt || undefined)}</span>
        <span>{formatClock(t.end)}</span>
      </div>
      <ul className="changes" data-testid="pair-changes">
        {h.changes.length === 0 ? <li className="muted">no path change in the window</li> : null}
        {[...h.changes].reverse().map((c, i) => (
          <li key={i} className={c.flap ? 'flap' : ''}>
            {formatClock(c.t)} {c.from} → {c.to}
            {c.flap ? ' (flap)' : ''}
          </li>
        ))}
      </ul>
    </div>
  );
}
