/** The text waterfall of `pilotctl trace`: a header per node lane (offset, RTT), a bar per span. */
import type { CollectedTrace } from '../../../shared/contract';
import { formatMs, layoutWaterfall } from '../../../shared/waterfall';

export function renderWaterfall(t: CollectedTrace, width = 40): string {
  const w = layoutWaterfall(t);
  const total = w.totalMs > 0 ? w.totalMs : 1;
  const nameWidth = Math.min(40, Math.max(16, ...w.lanes.flatMap((l) => l.rows.map((r) => r.depth * 2 + r.span.name.length + 2))));
  const out = [`Trace ${t.traceId} · ${w.lanes.length} node${w.lanes.length === 1 ? '' : 's'} · ${t.spans.length} span${t.spans.length === 1 ? '' : 's'} · ${formatMs(w.totalMs)}`];
  for (const lane of w.lanes) {
    const n = lane.node;
    const facts = n.self ? ['this node'] : [`offset ${n.offsetMs >= 0 ? '+' : ''}${formatMs(n.offsetMs)}`];
    if (n.rttMs !== undefined) facts.push(`rtt ${formatMs(n.rttMs)}`);
    if (n.truncated) facts.push('truncated');
    if (n.error) facts.push(`no spans: ${n.error}`);
    out.push('', `${lane.label} — ${facts.join(' · ')}`);
    for (const r of lane.rows) {
      const a = Math.min(width - 1, Math.floor((r.startMs / total) * width));
      const b = Math.max(a + 1, Math.min(width, Math.ceil((r.endMs / total) * width)));
      const bar = ' '.repeat(a) + (r.span.status === 'error' ? '✗' : '█').repeat(b - a) + ' '.repeat(width - b);
      const name = `${'  '.repeat(r.depth)}${r.span.name}`;
      const label = name.length > nameWidth ? `${name.slice(0, nameWidth - 1)}…` : name.padEnd(nameWidth);
      out.push(`  ${label} |${bar}| +${formatMs(r.startMs)} ${formatMs(r.span.durationMs)}${r.span.status === 'error' ? ' error' : ''}`);
    }
  }
  return out.join('\n');
}
