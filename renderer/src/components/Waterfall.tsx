import { Fragment, useMemo, useState } from 'react';
import type { SpanView } from '../../../shared/contract';
import { formatMs } from '../lib/format';
import type { Waterfall as WaterfallModel } from '../store/traces/selectors';

const PALETTE = ['#5aa9ff', '#3fb950', '#e3a23b', '#a371f7', '#39c5cf', '#f778ba', '#d2a8ff', '#79c0ff'];

export function nodeColor(nodes: readonly string[], node: string): string {
  const i = nodes.indexOf(node);
  return PALETTE[(i < 0 ? 0 : i) % PALETTE.length] ?? '#5aa9ff';
}

/** Round tick spacing (1, 2, 5 × 10^n ms) giving about `target` ticks. */
export function ticks(totalMs: number, target = 6): number[] {
  if (totalMs <= 0) return [0];
  const raw = totalMs / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let t = 0; t <= totalMs + 1e-9; t += step) out.push(t);
  return out;
}

/** One span's track in a waterfall row: the tick grid, the bar (at `left`/`width` percent) and its duration. */
export function SpanTrack(p: { ticks: readonly number[]; total: number; left: number; width: number; color: string; span: Pick<SpanView, 'status' | 'durationMs'> }): React.JSX.Element {
  return (
    <div className="wf-track" style={{ marginRight: 70 }}>
      {p.ticks.map((t) => (
        <span key={t} className="wf-grid" style={{ left: `${(100 * t) / p.total}%` }} />
      ))}
      <span className={p.span.status === 'error' ? 'wf-bar error' : 'wf-bar'} style={{ left: `${p.left}%`, width: `${p.width}%`, background: p.color }} />
      <span className="wf-dur" style={{ left: `calc(${p.left + p.width}% + 6px)` }}>
        {formatMs(p.span.durationMs)}
      </span>
    </div>
  );
}

export function Waterfall({ model }: { model: WaterfallModel }): React.JSX.Element {
  const [selected, setSelected] = useState<string | undefined>();
  const total = Math.max(model.durationMs, 0.001);
  const tickList = useMemo(() => ticks(total), [total]);
  const sel: SpanView | undefined = model.rows.find((r) => r.span.spanId === selected)?.span;
  return (
    <>
      <div className="wf" data-testid="waterfall">
        <div className="wf-axis">
          <div className="wf-label muted" style={{ paddingLeft: 12 }}>
            span · node
          </div>
          <div className="ticks" style={{ marginRight: 70 }}>
            {tickList.map((t) => (
              <span key={t} style={{ left: `${(100 * t) / total}%` }}>
                {formatMs(t)}
              </span>
            ))}
          </div>
        </div>
        {model.rows.map(({ span, depth, offsetMs }) => {
          const left = (100 * offsetMs) / total;
          const width = (100 * span.durationMs) / total;
          const color = nodeColor(model.nodes, span.node);
          return (
            <div key={span.spanId} className={span.spanId === selected ? 'wf-row sel' : 'wf-row'} onClick={() => setSelected(span.spanId === selected ? undefined : span.spanId)} data-testid={`span-${span.spanId}`}>
              <div className="wf-label" style={{ paddingLeft: 12 + depth * 14 }}>
                <span className="node-chip" style={{ background: color }}>
                  {span.node}
                </span>
                <span style={{ color: span.status === 'error' ? 'var(--err)' : undefined }}>{span.name}</span>
              </div>
              <SpanTrack ticks={tickList} total={total} left={left} width={width} color={color} span={span} />
            </div>
          );
        })}
      </div>
      {sel && (
        <div className="attrs">
          <div className="grid2">
            <span>span</span>
            <span className="mono">
              {sel.name} · {sel.spanId}
            </span>
            <span>node</span>
            <span className="mono">{sel.node}</span>
            <span>start / duration</span>
            <span className="mono">
              +{formatMs(sel.startMs - model.startMs)} / {formatMs(sel.durationMs)}
            </span>
            <span>status</span>
            <span className={sel.status === 'error' ? 'err-text' : ''}>{sel.status}</span>
            {Object.entries(sel.attrs).map(([k, v]) => (
              <Fragment key={k}>
                <span className="mono">{k}</span>
                <span className="mono">{String(v)}</span>
              </Fragment>
            ))}
          </div>
        </div>
      )}
    </>
  );
}
