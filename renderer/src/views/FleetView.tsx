import { useDeferredValue, useEffect, useMemo, useRef, useState } from 'react';
import type { PathKind, TrustState } from '../../../shared/contract';
import { loadFleetMatrix, openPair } from '../app/fleet-commands';
import { CensusTiles, FleetMatrix } from '../components/FleetMatrix';
import { FleetProbe } from '../components/FleetProbe';
import { PairTimeline } from '../components/PairTimeline';
import { WhyPath } from '../components/WhyPath';
import { PeerTable } from '../components/PeerTable';
import { Topology } from '../components/Topology';
import { formatMs } from '../lib/format';
import { useNow } from '../lib/hooks';
import { hrefOf } from '../lib/route';
import { buildTopology, topologyShape } from '../lib/topology';
import { selectNode } from '../store/connection/selectors';
import { memberName, selectFleet } from '../store/fleet/selectors';
import { pairKey } from '../store/fleet/state';
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

/** How often the open Fleet view asks for the matrix (the node caches a sweep for 2 s and sweeps on its own every 5 s). */
const MATRIX_POLL_MS = 5000;

function MatrixMode({ now }: { now: number }): React.JSX.Element {
  const fleet = useStore(selectFleet);
  const m = fleet.matrix;
  const sel = fleet.selected;
  const history = sel ? fleet.histories[pairKey(sel.a, sel.b)] : undefined;
  const members = useMemo(() => (m?.members ?? []).filter((x) => x.answered), [m]);
  const name = (id: number): string => memberName(m?.members.find((x) => x.nodeId === id), id);
  if (!m) {
    return (
      <section className="panel">
        <div className="panel-b muted" data-testid="matrix-loading">
          {fleet.error ? `${fleet.error.message}${fleet.error.hint ? ` — ${fleet.error.hint}` : ''}` : 'Asking the fleet for its peer tables…'}
        </div>
      </section>
    );
  }
  return (
    <>
      <CensusTiles m={m} />
      <div className="fleet">
        <section className="panel">
          <div className="panel-h">
            Path matrix
            <span className="muted num" style={{ textTransform: 'none', letterSpacing: 0 }}>
              every pair of {m.members.length} members
            </span>
            <span className="spacer" />
            <button className="btn small" onClick={() => void loadFleetMatrix(true)} disabled={fleet.loading} data-testid="matrix-refresh">
              {fleet.loading ? 'Sweeping…' : 'Sweep now'}
            </button>
          </div>
          <div style={{ overflow: 'auto', flex: 1, minHeight: 0 }}>
            <FleetMatrix m={m} now={now} selected={sel} onOpenPair={(a, b) => void openPair(a, b)} />
          </div>
        </section>
        <section className="panel" style={{ overflow: 'auto' }}>
          <div className="panel-h">Probe</div>
          <FleetProbe members={members} pick={sel} />
          <div className="panel-h">History {sel ? `· ${name(sel.a)} ↔ ${name(sel.b)}` : ''}</div>
          <div className="panel-b">{sel && history ? <PairTimeline h={history} now={now} /> : <p className="muted">Pick a pair: its path and RTT over the last hour, flaps marked.</p>}</div>
          {sel && <WhyPath key={`${sel.a}-${sel.b}`} from={sel.a} nodeId={sel.b} title={`Why this path · as ${name(sel.a)} tells it`} />}
        </section>
      </div>
    </>
  );
}

export function FleetView(): React.JSX.Element {
  const [mode, setMode] = useState<'peers' | 'matrix'>('peers');
  const now = useNow(1000);
  useEffect(() => {
    const tick = (): void => void loadFleetMatrix();
    tick();
    const t = setInterval(tick, MATRIX_POLL_MS);
    return () => clearInterval(t);
  }, []);
  const toggle = (
    <div className="seg" role="group" aria-label="fleet mode" style={{ alignSelf: 'flex-start' }}>
      <button className={mode === 'peers' ? 'on' : ''} onClick={() => setMode('peers')} data-testid="fleet-mode-peers">
        Peers
      </button>
      <button className={mode === 'matrix' ? 'on' : ''} onClick={() => setMode('matrix')} data-testid="fleet-mode-matrix">
        Path matrix
      </button>
    </div>
  );
  // The Peers mode stays mounted behind the matrix: going back shows it at once, with the
  // topology's layout where it was (re-mounting a 500-peer table and force layout took ~100 ms).
  return (
    <>
      {toggle}
      <div style={{ display: mode === 'peers' ? 'contents' : 'none' }} data-testid="fleet-peers-mode">
        <PeersMode now={now} />
      </div>
      {mode === 'matrix' && <MatrixMode now={now} />}
    </>
  );
}

function PeersMode({ now }: { now: number }): React.JSX.Element {
  const byId = useStore(selectPeersById);
  const matrix = useStore((s) => s.fleet.matrix);
  const node = useStore(selectNode);
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
  // Edges between members come from the fleet's path matrix (the same edges it lists).
  const pairs = useMemo(() => (matrix && !matrix.aggregated ? matrix.pairs : []), [matrix]);
  const pairsShape = useMemo(() => pairs.map((p) => `${p.a}-${p.b}:${p.path}`).join(','), [pairs]);
  const shape = useMemo(() => topologyShape(node, deferredRows) + '#' + pairsShape, [node, deferredRows, pairsShape]);
  const pairsRef = useRef(pairs);
  pairsRef.current = pairs;
  const rowsRef = useRef(deferredRows);
  rowsRef.current = deferredRows;
  const nodeRef = useRef(node);
  nodeRef.current = node;
  const graph = useMemo(() => buildTopology(nodeRef.current, rowsRef.current, { groups: showGroups, pairs: pairsRef.current }), [shape, showGroups]);

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
