/**
 * The fleet's peer table: virtualised (only the rows in view exist in the DOM), sortable by column,
 * fed an already filtered and sorted list. Row click opens the peer.
 */
import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useRef } from 'react';
import type { PeerView } from '../../../shared/contract';
import { formatAge, formatMs } from '../lib/format';
import type { PeerSort, PeerSortKey } from '../store/peers/selectors';
import { PathBadge, Tags, TrustBadge } from './Badges';
import { Sparkline } from './Sparkline';

const ROW = 30;

const COLUMNS: { key?: PeerSortKey; label: string }[] = [
  { label: '' },
  { key: 'name', label: 'Hostname' },
  { key: 'address', label: 'Address' },
  { label: 'Groups · tags' },
  { key: 'path', label: 'Path' },
  { key: 'rtt', label: 'RTT' },
  { key: 'lastSeen', label: 'Seen' },
  { key: 'trust', label: 'Trust' },
];

const PATH_COLOR = { direct: 'var(--direct)', punched: 'var(--punched)', relay: 'var(--relay)', pending: 'var(--pending)' } as const;

const Row = memo(function Row({ peer, top, now, selected, onOpen }: { peer: PeerView; top: number; now: number; selected: boolean; onOpen: (id: number) => void }): React.JSX.Element {
  const age = peer.lastSeenMs === undefined ? undefined : now - peer.lastSeenMs;
  const live = age !== undefined && age < 60_000;
  return (
    <div className={selected ? 'trow sel' : 'trow'} style={{ transform: `translateY(${top}px)` }} data-testid={`peer-row-${peer.nodeId}`} role="row" onClick={() => onOpen(peer.nodeId)}>
      <span className={`dot ${live ? 'ok' : age === undefined ? '' : 'warn'}`} />
      <span className="cell host">{peer.hostname || <span className="muted">(no hostname)</span>}</span>
      <span className="cell mono dim">{peer.address}</span>
      <span className="cell" title={[...peer.groups, ...peer.tags].join(' ')}>
        <Tags tags={peer.groups} kind="group" />
        <Tags tags={peer.tags} />
      </span>
      <span className="cell">
        <PathBadge path={peer.path} />
      </span>
      <span className="cell rtt-cell">
        <span className="v">{formatMs(peer.rttMs)}</span>
        <Sparkline values={peer.rttHistory} color={PATH_COLOR[peer.path]} width={62} />
      </span>
      <span className="cell dim num" title={peer.lastSeenMs ? new Date(peer.lastSeenMs).toISOString() : ''}>
        {formatAge(age)}
      </span>
      <span className="cell">
        <TrustBadge trust={peer.trust} />
      </span>
    </div>
  );
});

export function PeerTable({ peers, sort, onSort, onOpen, now, selected }: { peers: readonly PeerView[]; sort: PeerSort; onSort: (key: PeerSortKey) => void; onOpen: (id: number) => void; now: number; selected?: number }): React.JSX.Element {
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({ count: peers.length, getScrollElement: () => scroller.current, estimateSize: () => ROW, overscan: 12, getItemKey: (i) => peers[i]?.nodeId ?? i });
  return (
    <div className="table" role="table" aria-rowcount={peers.length}>
      <div className="thead" role="row">
        {COLUMNS.map((c, i) =>
          c.key ? (
            <button key={c.label} className={sort.key === c.key ? 'sorted' : ''} onClick={() => onSort(c.key as PeerSortKey)} data-testid={`sort-${c.key}`}>
              {c.label}
              {sort.key === c.key ? (sort.dir === 'asc' ? ' ▲' : ' ▼') : ''}
            </button>
          ) : (
            <span key={c.label || i}>{c.label}</span>
          ),
        )}
      </div>
      <div className="tbody" ref={scroller} data-testid="peer-table">
        {peers.length === 0 ? (
          <div className="empty">No peers match.</div>
        ) : (
          <div style={{ height: virtual.getTotalSize(), position: 'relative' }}>
            {virtual.getVirtualItems().map((v) => {
              const p = peers[v.index];
              return p ? <Row key={p.nodeId} peer={p} top={v.start} now={now} selected={p.nodeId === selected} onOpen={onOpen} /> : null;
            })}
          </div>
        )}
      </div>
    </div>
  );
}
