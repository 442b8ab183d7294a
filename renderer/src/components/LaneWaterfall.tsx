import { Fragment, useMemo, useState } from 'react';
import type { CollectedSpan, CollectedTrace } from '../../../shared/contract';
import { layoutWaterfall } from '../../../shared/waterfall';
import { formatMs } from '../lib/format';
import { nodeColor, SpanTrack, ticks } from './Waterfall';

const signed = (ms: number): string => `${ms >= 0 ? '+' : '−'}${formatMs(Math.abs(ms))}`;

/**
 * A trace collected from several nodes: one lane per node (header: the node, its clock offset and
 * RTT, or why it gave no spans), its spans below on the collector's clock (offsets applied). Click a
 * span for its details.
 */
export function LaneWaterfall({ trace }: { trace: CollectedTrace }): React.JSX.Element {
  const model = useMemo(() => layoutWaterfall(trace), [trace]);
  const [selected, setSelected] = useState<string | undefined>();
  const total = Math.max(model.totalMs, 0.001);
  const tickList = useMemo(() => ticks(total), [total]);
  const lanes = model.lanes.map((l) => l.node.address);
  const sel: CollectedSpan | undefined = trace.spans.find((s) => s.spanId === selected);
  const selNode = sel ? trace.nodes.find((n) => n.address === sel.lane) : undefined;
  return (
    <>
      <div className="wf" data-testid="lane-waterfall">
        <div className="wf-axis">
          <div className="wf-label muted" style={{ paddingLeft: 12 }}>
            node lane · span
          </div>
          <div className="ticks" style={{ marginRight: 70 }}>
            {tickList.map((t) => (
              <span key={t} style={{ left: `${(100 * t) / total}%` }}>
                {formatMs(t)}
              </span>
            ))}
          </div>
        </div>
        {model.lanes.map((lane) => {
          const color = nodeColor(lanes, lane.node.address);
          const n = lane.node;
          return (
            <div key={n.address} className="wf-lane" data-testid={`lane-${n.address}`}>
              <div className="wf-lane-h">
                <span className="node-chip" style={{ background: color }}>
                  {n.hostname ?? n.address}
                </span>
                <span className="mono muted">{n.address}</span>
                <span className="muted" data-testid="lane-offset">
                  {n.self ? 'this node · clock reference' : `clock offset ${signed(n.offsetMs)}${n.rttMs !== undefined ? ` · rtt ${formatMs(n.rttMs)}` : ''}`}
                </span>
                <span className="muted">
                  {lane.rows.length} span{lane.rows.length === 1 ? '' : 's'}
                </span>
                {n.error && <span className="err-text">{n.error}</span>}
              </div>
              {lane.rows.map(({ span, depth, startMs }) => {
                const left = (100 * startMs) / total;
                const width = (100 * span.durationMs) / total;
                return (
                  <div
                    key={span.spanId}
                    className={span.spanId === selected ? 'wf-row sel' : 'wf-row'}
                    onClick={() => setSelected(span.spanId === selected ? undefined : span.spanId)}
                    data-testid={`lane-span-${span.spanId}`}
                  >
                    <div className="wf-label" style={{ paddingLeft: 12 + depth * 14 }}>
                      <span style={{ color: span.status === 'error' ? 'var(--err)' : undefined }}>{span.name}</span>
                    </div>
                    <SpanTrack ticks={tickList} total={total} left={left} width={width} color={color} span={span} />
                  </div>
                );
              })}
            </div>
          );
        })}
      </div>
      {sel && (
        <div className="attrs" data-testid="span-details">
          <div className="grid2">
            <span>span</span>
            <span className="mono">
              {sel.name} · {sel.spanId}
            </span>
            <span>node</span>
            <span className="mono">
              {sel.node} · {sel.lane}
            </span>
            <span>start / duration</span>
            <span className="mono">
              +{formatMs(sel.adjustedStartMs - model.t0)} / {formatMs(sel.durationMs)}
            </span>
            {selNode && !selNode.self && (
              <>
                <span>clock offset</span>
                <span className="mono">{signed(selNode.offsetMs)} (applied)</span>
              </>
            )}
            <span>status</span>
            <span className={sel.status === 'error' ? 'err-text' : ''}>
              {sel.status}
              {sel.statusMessage ? ` · ${sel.statusMessage}` : ''}
            </span>
            {sel.parentId && (
              <>
                <span>parent</span>
                <span className="mono">{sel.parentId}</span>
              </>
            )}
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
