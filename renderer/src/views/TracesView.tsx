import { useEffect, useMemo, useState } from 'react';
import { collectTrace, loadTrace, quietly } from '../app/commands';
import { LaneWaterfall } from '../components/LaneWaterfall';
import { Waterfall } from '../components/Waterfall';
import { formatAge, formatMs } from '../lib/format';
import { useNow } from '../lib/hooks';
import { hrefOf } from '../lib/route';
import { buildWaterfall, selectCollected, selectSpans, summarizeTraces } from '../store/traces/selectors';
import { useStore } from '../store/root';

export function TracesView({ traceId }: { traceId?: string }): React.JSX.Element {
  const spans = useStore(selectSpans);
  const now = useNow(5000);
  const [text, setText] = useState('');
  const traces = useMemo(() => summarizeTraces(spans), [spans]);
  const shown = useMemo(() => {
    const q = text.trim().toLowerCase();
    return q ? traces.filter((t) => t.name.toLowerCase().includes(q) || t.nodes.some((n) => n.toLowerCase().includes(q)) || t.traceId.startsWith(q)) : traces;
  }, [traces, text]);
  const current = traceId ?? shown[0]?.traceId;
  const model = useMemo(() => (current ? buildWaterfall(spans, current) : undefined), [spans, current]);
  const collected = useStore(selectCollected(current));
  // An opened trace is gathered from every node that took part (lanes per node, clock offsets applied).
  useEffect(() => {
    if (!traceId) return;
    quietly(loadTrace(traceId));
    void collectTrace(traceId);
  }, [traceId]);
  const lanes = collected?.trace;

  return (
    <div className="traces">
      <section className="panel">
        <div className="panel-h">
          Traces <span className="muted num">{traces.length}</span>
        </div>
        <div className="panel-b" style={{ borderBottom: '1px solid var(--line)' }}>
          <input className="input" style={{ width: '100%' }} placeholder="Filter by name, node, trace id…" value={text} onChange={(e) => setText(e.target.value)} />
        </div>
        <div className="tlist" data-testid="trace-list">
          {shown.length === 0 && <div className="empty">No traces yet. Ping a peer or submit a task.</div>}
          {shown.slice(0, 500).map((t) => (
            <a key={t.traceId} className={t.traceId === current ? 'titem sel' : 'titem'} href={hrefOf({ view: 'traces', traceId: t.traceId })} style={{ color: 'inherit', textDecoration: 'none' }} data-testid={`trace-${t.traceId}`}>
              <span className="tname">
                <span className={`dot ${t.status === 'error' ? 'err' : 'ok'}`} style={{ marginRight: 6 }} />
                {t.name}
              </span>
              <span className="mono">{formatMs(t.durationMs)}</span>
              <span className="tmeta">
                {t.spanCount} spans · {t.nodes.join(', ')}
              </span>
              <span className="tmeta">{formatAge(now - t.startMs)}</span>
            </a>
          ))}
        </div>
      </section>
      <section className="panel">
        <div className="panel-h">
          {model ? (
            <>
              Waterfall <span className="mono muted" style={{ textTransform: 'none', letterSpacing: 0 }}>{model.traceId}</span>
              <span className="spacer" />
              <span className="muted" style={{ textTransform: 'none', letterSpacing: 0, fontWeight: 400 }} data-testid="waterfall-summary">
                {lanes
                  ? `${lanes.spans.length} spans · ${lanes.nodes.length} node${lanes.nodes.length === 1 ? '' : 's'} · collected`
                  : `${model.rows.length} spans · ${formatMs(model.durationMs)} · ${model.nodes.length} node${model.nodes.length === 1 ? '' : 's'}`}
              </span>
              <button className="btn" style={{ marginLeft: 8 }} disabled={collected?.status === 'collecting'} onClick={() => void collectTrace(model.traceId)} data-testid="collect-trace">
                {collected?.status === 'collecting' ? 'Collecting…' : lanes ? 'Collect again' : 'Collect from peers'}
              </button>
            </>
          ) : (
            'Waterfall'
          )}
        </div>
        {collected?.status === 'failed' && <div className="empty err-text">Collection failed: {collected.error}</div>}
        {lanes && lanes.spans.length > 0 ? <LaneWaterfall trace={lanes} /> : model ? <Waterfall model={model} /> : <div className="empty">Select a trace.</div>}
      </section>
    </div>
  );
}
