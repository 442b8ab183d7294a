import { useDeferredValue, useMemo, useRef, useState } from 'react';
import type { PathKind, TrustState } from '../../../shared/contract';
import { PeerTable } from '../components/PeerTable';
import { Topology } from '../components/Topology';
import { formatMs } from '../lib/format';
import { useNow } from '../lib/hooks';
import { hrefOf } from '../lib/route';
import { buildTopology, topologyShape } from '../lib/topology';
import { selectNode } from '../store/connection/selectors';
import { defaultPeerFilter, defaultPeerSort, filterPeers, selectPeersById, summarizeFleet, visiblePeers, type PeerFilter, type PeerSort, type PeerSortKey } from '../store/peers/selectors';
import { useStore } from '../store/root';

const PATHS: (PathKind | 'all')[] = ['all', 'direct', 'punched', 'relay', 'pending'];
const TRUSTS: { v: TrustState | 'all'; label: string }[] = [
  { v: 'all', label: 'any trust' },
  { v: 'trusted', label: 'trusted' },
  { v: 'pending_in', label: 'asks trust' },
  { v: 'pending_out', label: 'requested' },
  { v: 'none', label: 'untrusted' },
];

const openPeer = (id: number): void => {
  window.location.hash = hrefOf({ view: 'peer', nodeId: id });
};

export function FleetView(): React.JSX.Element {
  const byId = useStore(selectPeersById);
  const node = useStore(selectNode);
  const now = useNow(1000);
  const [filter, setFilter] = useState<PeerFilter>(defaultPeerFilter);
  const [sort, setSort] = useState<PeerSort>(defaultPeerSort);
  const [showGroups, setShowGroups] = useState(true);
  const deferredFilter = useDeferredValue(filter);
  const rows = useMemo(() => visiblePeers(byId, deferredFilter, sort), [byId, deferredFilter, sort]);
  const summary = useMemo(() => summarizeFleet(byId), [byId]);
  // The topology shows the same filtered peers, in a stable (node id) order: re-sorting is not a change.
  const deferredRows = useDeferredValue(useMemo(() => filterPeers(Object.values(byId), deferredFilter), [byId, deferredFilter]));
  // The picture depends on who is there, their path and groups — not on every RTT sample: rebuild
  // (and re-layout) only when that shape changes.
  const shape = useMemo(() => topologyShape(node, deferredRows), [node, deferredRows]);
  const rowsRef = useRef(deferredRows);
  rowsRef.current = deferredRows;
  const nodeRef = useRef(node);
  nodeRef.current = node;
  const graph = useMemo(() => buildTopology(nodeRef.current, rowsRef.current, { groups: showGroups }), [shape, showGroups]);

  const onSort = (key: PeerSortKey): void => setSort((s) => (s.key === key ? { key, dir: s.dir === 'asc' ? 'desc' : 'asc' } : { key, dir: 'asc' }));
  const pct = (n: number): string => (summary.total ? `${Math.round((100 * n) / summary.total)}%` : '');

  return (
    <>
      <div className="tiles">
        <div className="tile">
          <div className="label">Peers</div>
          <div className="value" data-testid="fleet-total">{summary.total}</div>
          <div className="sub">{summary.groups.length} groups</div>
        </div>
        <div className="tile">
          <div className="label"><span className="dot" style={{ background: 'var(--direct)' }} />Direct</div>
          <div className="value">{summary.byPath.direct}</div>
          <div className="sub">{pct(summary.byPath.direct)}</div>
        </div>
        <div className="tile">
          <div className="label"><span className="dot" style={{ background: 'var(--punched)' }} />Punched</div>
          <div className="value">{summary.byPath.punched}</div>
          <div className="sub">{pct(summary.byPath.punched)}</div>
        </div>
        <div className="tile">
          <div className="label"><span className="dot" style={{ background: 'var(--relay)' }} />Relay</div>
          <div className="value">{summary.byPath.relay}</div>
          <div className="sub">{pct(summary.byPath.relay)}</div>
        </div>
        <div className="tile">
          <div className="label">Median RTT</div>
          <div className="value">{formatMs(summary.medianRttMs)}</div>
          <div className="sub">{summary.byPath.pending} without tunnel</div>
        </div>
        <div className="tile">
          <div className="label">Trusted</div>
          <div className="value">{summary.trusted}</div>
          <div className="sub">mutual handshakes</div>
        </div>
      </div>
      <div className="fleet">
        <section className="panel">
          <div className="panel-h">
            Peers
            <span className="muted num" data-testid="peer-count" style={{ textTransform: 'none', letterSpacing: 0 }}>
              {rows.length === summary.total ? summary.total : `${rows.length} of ${summary.total}`}
            </span>
            <span className="spacer" />
          </div>
          <div className="panel-b toolbar" style={{ borderBottom: '1px solid var(--line)' }}>
            <input className="input" style={{ flex: 1, minWidth: 160 }} placeholder="Filter: hostname, address, tag, group…" value={filter.text} onChange={(e) => setFilter({ ...filter, text: e.target.value })} data-testid="peer-filter" />
            <div className="seg" role="group" aria-label="path">
              {PATHS.map((p) => (
                <button key={p} className={filter.path === p ? 'on' : ''} onClick={() => setFilter({ ...filter, path: p })} data-testid={`filter-path-${p}`}>
                  {p}
                </button>
              ))}
            </div>
            <select className="select" value={filter.trust} onChange={(e) => setFilter({ ...filter, trust: e.target.value as TrustState | 'all' })} aria-label="trust">
              {TRUSTS.map((t) => (
                <option key={t.v} value={t.v}>
                  {t.label}
                </option>
              ))}
            </select>
            <select className="select" value={filter.group} onChange={(e) => setFilter({ ...filter, group: e.target.value })} aria-label="group">
              <option value="all">any group</option>
              {summary.groups.map((g) => (
                <option key={g} value={g}>
                  {g}
                </option>
              ))}
            </select>
          </div>
          <PeerTable peers={rows} sort={sort} onSort={onSort} onOpen={openPeer} now={now} />
        </section>
        <section className="panel">
          <div className="panel-h">
            Topology
            <span className="spacer" />
            <label style={{ textTransform: 'none', letterSpacing: 0, fontWeight: 400, display: 'flex', gap: 6, alignItems: 'center' }}>
              <input type="checkbox" checked={showGroups} onChange={(e) => setShowGroups(e.target.checked)} /> groups
            </label>
          </div>
          <Topology graph={graph} onOpenPeer={openPeer} rttOf={(id) => byId[id]?.rttMs} />
        </section>
      </div>
    </>
  );
}
