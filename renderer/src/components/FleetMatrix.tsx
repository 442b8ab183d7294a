/**
 * The path matrix of the fleet: the census (share of pairs direct / punched / relay), a grid of every
 * two members coloured by their path (small fleets), the pairs as rows (path, RTT, how long, changes
 * and flaps in the last hour, what each end reports) and, for a large fleet, the aggregate by group.
 */
import { useMemo, useState } from 'react';
import type { FleetMatrixView, FleetPath } from '../../../shared/contract';
import { formatMs } from '../lib/format';
import { forText, gridOf, memberName, pairRows, pct } from '../store/fleet/selectors';

const PATHS: (FleetPath | 'all')[] = ['all', 'direct', 'punched', 'relay', 'pending', 'none', 'unknown'];
/** Past this many members the grid gives way to the rows alone. */
const GRID_MAX = 32;
/** Rows drawn at once (up to 2,000 pairs arrive unaggregated); the filter narrows the rest. */
const ROWS_MAX = 400;

export function FleetPathBadge({ path, testId }: { path: FleetPath | string; testId?: string }): React.JSX.Element {
  return (
    <span className={`badge path-${path}`} data-testid={testId} data-path={path}>
      {path}
    </span>
  );
}

export function CensusTiles({ m }: { m: FleetMatrixView }): React.JSX.Element {
  const c = m.census;
  const answered = m.members.filter((x) => x.answered).length;
  return (
    <div className="tiles" data-testid="fleet-census">
      <div className="tile">
        <div className="label">Pairs</div>
        <div className="value" data-testid="census-pairs">{c.pairs}</div>
        <div className="sub">{m.members.length} members, {answered} answered</div>
      </div>
      {(['direct', 'punched', 'relay'] as const).map((p) => (
        <div className="tile" key={p}>
          <div className="label"><span className="dot" style={{ background: `var(--${p})` }} />{p}</div>
          <div className="value" data-testid={`census-${p}`}>{c.counts[p]}</div>
          <div className="sub">{pct(c.shares[p])} of tunnels</div>
        </div>
      ))}
      <div className="tile">
        <div className="label">No tunnel</div>
        <div className="value">{c.counts.none}</div>
        <div className="sub">{c.counts.unknown} unknown (no end answered)</div>
      </div>
    </div>
  );
}

export function FleetMatrix({ m, now, selected, onOpenPair }: { m: FleetMatrixView; now: number; selected?: { a: number; b: number } | undefined; onOpenPair: (a: number, b: number) => void }): React.JSX.Element {
  const [text, setText] = useState('');
  const [path, setPath] = useState<FleetPath | 'all'>('all');
  const rows = useMemo(() => pairRows(m, { text, path }), [m, text, path]);
  const grid = useMemo(() => gridOf(m), [m]);
  const byId = useMemo(() => new Map(m.members.map((x) => [x.nodeId, x])), [m]);
  const name = (id: number): string => memberName(byId.get(id), id);
  const isSel = (a: number, b: number): boolean => selected?.a === a && selected.b === b;

  return (
    <div className="matrix" data-testid="fleet-matrix" data-members={m.members.length} data-pairs={m.census.pairs}>
      {m.aggregated ? (
        <div data-testid="matrix-aggregate">
          <p className="muted" style={{ margin: '6px 10px' }}>
            {m.census.pairs.toLocaleString()} pairs: aggregated by group (each member counted in its first group).
          </p>
          <table className="ctable">
            <thead>
              <tr>
                <th>group</th>
                <th>group</th>
                <th className="num">pairs</th>
                <th className="num">direct</th>
                <th className="num">punched</th>
                <th className="num">relay</th>
                <th className="num">none</th>
                <th className="num">unknown</th>
              </tr>
            </thead>
            <tbody>
              {m.groups.map((g) => (
                <tr key={`${g.groupA}|${g.groupB}`} data-testid={`group-cell-${g.groupA}-${g.groupB}`}>
                  <td>{g.groupA}</td>
                  <td>{g.groupB}</td>
                  <td className="num">{g.pairs}</td>
                  <td className="num">{g.counts.direct}</td>
                  <td className="num">{g.counts.punched}</td>
                  <td className="num">{g.counts.relay}</td>
                  <td className="num">{g.counts.none}</td>
                  <td className="num">{g.counts.unknown}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <>
          {grid.members.length <= GRID_MAX && (
            <div className="mgrid" style={{ gridTemplateColumns: `140px repeat(${grid.members.length}, 22px)` }} data-testid="matrix-grid">
              <div />
              {grid.members.map((c) => (
                <div key={c.nodeId} className="mgrid-col" title={name(c.nodeId)}>
                  {name(c.nodeId)}
                </div>
              ))}
              {grid.members.map((r) => (
                <div key={r.nodeId} style={{ display: 'contents' }}>
                  <div className="mgrid-row" title={r.error ?? (r.natType ? `NAT: ${r.natType}` : '')}>
                    {r.self ? '★ ' : ''}
                    {name(r.nodeId)}
                    {!r.answered && !r.self ? <span className="muted"> ?</span> : null}
                  </div>
                  {grid.members.map((c) => {
                    const p = grid.cell(r.nodeId, c.nodeId);
                    if (!p) return <div key={c.nodeId} className="mcell self" />;
                    return (
                      <button
                        key={c.nodeId}
                        className={`mcell path-${p.path}${isSel(p.a, p.b) ? ' sel' : ''}`}
                        title={`${name(r.nodeId)} ↔ ${name(c.nodeId)}: ${p.path}${p.rttMs !== undefined ? `, ${formatMs(p.rttMs)}` : ''}${p.flaps ? `, ${p.flaps} flaps` : ''}`}
                        onClick={() => onOpenPair(p.a, p.b)}
                      >
                        {p.flaps ? '!' : ''}
                      </button>
                    );
                  })}
                </div>
              ))}
            </div>
          )}
          <div className="panel-b toolbar" style={{ borderBottom: '1px solid var(--line)' }}>
            <input className="input" style={{ flex: 1, minWidth: 140 }} placeholder="Filter pairs by member…" value={text} onChange={(e) => setText(e.target.value)} data-testid="pair-filter" />
            <div className="seg" role="group" aria-label="pair path">
              {PATHS.map((p) => (
                <button key={p} className={path === p ? 'on' : ''} onClick={() => setPath(p)}>
                  {p}
                </button>
              ))}
            </div>
          </div>
          <table className="ctable" data-testid="pair-table">
            <thead>
              <tr>
                <th>member</th>
                <th>member</th>
                <th>path</th>
                <th className="num">RTT</th>
                <th className="num">for</th>
                <th className="num">changes (1 h)</th>
                <th>each end sees</th>
              </tr>
            </thead>
            <tbody>
              {rows.slice(0, ROWS_MAX).map((p) => (
                <tr key={`${p.a}-${p.b}`} className={isSel(p.a, p.b) ? 'sel' : ''} data-testid={`pair-row-${p.a}-${p.b}`} data-path={p.path} data-names={`${p.nameA}|${p.nameB}`} onClick={() => onOpenPair(p.a, p.b)} style={{ cursor: 'pointer' }}>
                  <td>{p.nameA}</td>
                  <td>{p.nameB}</td>
                  <td>
                    <FleetPathBadge path={p.path} />
                  </td>
                  <td className="num">{formatMs(p.rttMs)}</td>
                  <td className="num">{forText(p.sinceMs, now)}</td>
                  <td className="num">
                    {p.changes}
                    {p.flaps ? <span className="flap" title="flaps: returned to a path it had just left"> ({p.flaps} flaps)</span> : null}
                  </td>
                  <td className="muted">
                    {p.ab ? `${p.nameA}: ${p.ab.path}` : `${p.nameA}: —`} · {p.ba ? `${p.nameB}: ${p.ba.path}` : `${p.nameB}: —`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {rows.length > ROWS_MAX && (
            <p className="muted" style={{ margin: '6px 10px' }} data-testid="pair-rows-more">
              showing {ROWS_MAX} of {rows.length} pairs (relayed first): filter by member or path for the rest
            </p>
          )}
        </>
      )}
    </div>
  );
}
