import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { LogLevelName } from '../../../shared/contract';
import { formatClock } from '../lib/format';
import { hrefOf } from '../lib/route';
import { LEVELS, countByLevel, defaultLogFilter, filterLogs, peersInLogs, selectLogEntries, type LogFilter } from '../store/logs/selectors';
import { selectPeersById } from '../store/peers/selectors';
import { useStore } from '../store/root';

const ROW = 22;

function fieldsText(fields: Record<string, unknown>): React.JSX.Element[] {
  return Object.entries(fields).map(([k, v]) => (
    <span key={k}>
      <b>{k}=</b>
      {typeof v === 'string' ? v : JSON.stringify(v)}{' '}
    </span>
  ));
}

export function LogsView({ peer }: { peer?: number }): React.JSX.Element {
  const entries = useStore(selectLogEntries);
  const peers = useStore(selectPeersById);
  const [filter, setFilter] = useState<LogFilter>(() => (peer === undefined ? defaultLogFilter : { ...defaultLogFilter, peer }));
  const [follow, setFollow] = useState(true);
  useEffect(() => setFilter((f) => (peer === undefined ? (({ peer: _p, ...rest }) => rest)(f) : { ...f, peer })), [peer]);
  const shown = useMemo(() => filterLogs(entries, filter), [entries, filter]);
  const counts = useMemo(() => countByLevel(entries), [entries]);
  const logPeers = useMemo(() => peersInLogs(entries), [entries]);
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({ count: shown.length, getScrollElement: () => scroller.current, estimateSize: () => ROW, overscan: 20, getItemKey: (i) => shown[i]?.seq ?? i });

  useEffect(() => {
    if (follow && shown.length) virtual.scrollToIndex(shown.length - 1, { align: 'end' });
  }, [follow, shown.length, virtual]);

  const setPeer = (v: string): void => {
    window.location.hash = v ? hrefOf({ view: 'logs', peer: Number(v) }) : hrefOf({ view: 'logs' });
  };

  return (
    <section className="panel logs">
      <div className="panel-b toolbar" style={{ borderBottom: '1px solid var(--line)' }}>
        <div className="seg" role="group" aria-label="minimum level">
          {LEVELS.map((l: LogLevelName) => (
            <button key={l} className={filter.minLevel === l ? 'on' : ''} onClick={() => setFilter({ ...filter, minLevel: l })} data-testid={`log-level-${l}`}>
              {l} <span className="muted num">{counts[l]}</span>
            </button>
          ))}
        </div>
        <select className="select" value={filter.peer ?? ''} onChange={(e) => setPeer(e.target.value)} data-testid="log-peer" aria-label="peer">
          <option value="">all peers</option>
          {[...new Set([...logPeers, ...(filter.peer !== undefined ? [filter.peer] : [])])].map((id) => (
            <option key={id} value={id}>
              {peers[id]?.hostname ?? `node ${id}`} ({id})
            </option>
          ))}
        </select>
        <input className="input" style={{ flex: 1, minWidth: 160 }} placeholder="Search message and fields…" value={filter.text} onChange={(e) => setFilter({ ...filter, text: e.target.value })} data-testid="log-search" />
        <label className="dim" style={{ display: 'flex', gap: 5, alignItems: 'center' }}>
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> follow
        </label>
        <span className="muted num" data-testid="log-count">
          {shown.length} / {entries.length}
        </span>
      </div>
      <div className="logview" ref={scroller} data-testid="log-view" onWheel={(e) => { if (e.deltaY < 0) setFollow(false); }}>
        {shown.length === 0 ? (
          <div className="empty">No log lines match.</div>
        ) : (
          <div style={{ height: virtual.getTotalSize(), position: 'relative' }}>
            {virtual.getVirtualItems().map((v) => {
              const e = shown[v.index];
              if (!e) return null;
              return (
                <div key={e.seq} className="logrow" style={{ transform: `translateY(${v.start}px)` }} data-testid="log-line" data-level={e.line.level}>
                  <span className="muted">{formatClock(e.line.t)}</span>
                  <span className={`lvl lvl-${e.line.level}`}>{e.line.level}</span>
                  <span title={e.line.msg}>{e.line.msg}</span>
                  <span className="fields" title={JSON.stringify(e.line.fields)}>
                    {fieldsText(e.line.fields)}
                  </span>
                </div>
              );
            })}
          </div>
        )}
      </div>
    </section>
  );
}
