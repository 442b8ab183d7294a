import { useEffect, useMemo, useState } from 'react';
import type { PeerDetail } from '../../../shared/contract';
import { DEFAULT_PING, clearPings, isPingingContinuously, pingPeer, requestTrust, startPinging, stopPinging, watchPeer } from '../app/commands';
import { PathBadge, Tags, TrustBadge } from '../components/Badges';
import { LatencyChart } from '../components/LatencyChart';
import { WhyPath } from '../components/WhyPath';
import { formatAge, formatBytes, formatClock, formatCount, formatMs, groupHex } from '../lib/format';
import { useNow } from '../lib/hooks';
import { hrefOf } from '../lib/route';
import { selectLogEntries } from '../store/logs/selectors';
import { selectPeer, selectPeerDetail } from '../store/peers/selectors';
import { currentPath, latencyStats, selectPeerPings } from '../store/pings/selectors';
import { useStore } from '../store/root';

function PingPanel({ nodeId, target }: { nodeId: number; target: string }): React.JSX.Element {
  const pings = useStore(selectPeerPings(nodeId));
  const [count, setCount] = useState(DEFAULT_PING.count);
  const [interval, setIntervalMs] = useState(DEFAULT_PING.intervalMs);
  const [loop, setLoop] = useState(() => isPingingContinuously(nodeId));
  const samples = useMemo(() => pings?.samples ?? [], [pings?.samples]);
  const marks = useMemo(() => pings?.marks ?? [], [pings?.marks]);
  const stats = useMemo(() => latencyStats(samples), [samples]);
  const path = currentPath(pings);
  const running = pings?.running !== undefined;
  const changes = marks.filter((m) => m.from);
  useEffect(() => () => stopPinging(nodeId), [nodeId]);

  const start = (): void => {
    if (loop) startPinging(nodeId, target, { count, intervalMs: interval });
    else void pingPeer(nodeId, target, { count, intervalMs: interval });
  };

  return (
    <section className="panel" data-testid="ping-panel">
      <div className="panel-h">
        Visual ping
        <span className="spacer" />
        <span style={{ textTransform: 'none', letterSpacing: 0, fontWeight: 400 }} className="toolbar">
          <label className="dim">
            count <input className="input" type="number" min={1} max={1000} value={count} onChange={(e) => setCount(Math.max(1, Math.min(1000, Number(e.target.value) || 1)))} style={{ width: 64 }} />
          </label>
          <label className="dim">
            every <input className="input" type="number" min={10} max={60000} step={50} value={interval} onChange={(e) => setIntervalMs(Math.max(10, Number(e.target.value) || 250))} style={{ width: 72 }} /> ms
          </label>
          <label className="dim" style={{ display: 'flex', gap: 4, alignItems: 'center' }}>
            <input type="checkbox" checked={loop} onChange={(e) => { setLoop(e.target.checked); if (!e.target.checked) stopPinging(nodeId); }} /> continuous
          </label>
          {loop && isPingingContinuously(nodeId) ? (
            <button className="btn small danger" onClick={() => { stopPinging(nodeId); setLoop(false); }}>Stop</button>
          ) : (
            <button className="btn small primary" onClick={start} disabled={running} data-testid="ping-button">
              {running ? 'Pinging…' : 'Ping'}
            </button>
          )}
          <button className="btn small ghost" onClick={() => clearPings(nodeId)} disabled={running || samples.length === 0}>Clear</button>
        </span>
      </div>
      <div className="ping-stats">
        <div>
          <div className="label">last</div>
          <div className="value" data-testid="ping-rtt" data-rtt-ms={stats.lastMs ?? ''}>{formatMs(stats.lastMs)}</div>
        </div>
        <div>
          <div className="label">path</div>
          <div className="value" style={{ fontSize: 13, paddingTop: 2 }}>
            {path ? <PathBadge path={path} testId="ping-path" /> : <span className="muted" data-testid="ping-path">—</span>}
          </div>
        </div>
        <div>
          <div className="label">min</div>
          <div className="value" data-testid="ping-min">{formatMs(stats.minMs)}</div>
        </div>
        <div>
          <div className="label">median</div>
          <div className="value" data-testid="ping-median">{formatMs(stats.medianMs)}</div>
        </div>
        <div>
          <div className="label">p99</div>
          <div className="value" data-testid="ping-p99">{formatMs(stats.p99Ms)}</div>
        </div>
        <div>
          <div className="label">received</div>
          <div className="value" data-testid="ping-received">
            {stats.received}/{stats.sent}
          </div>
        </div>
        <div>
          <div className="label">loss</div>
          <div className="value" style={{ color: stats.lossPct > 0 ? 'var(--err)' : undefined }}>{stats.sent ? `${stats.lossPct.toFixed(stats.lossPct % 1 ? 1 : 0)}%` : '—'}</div>
        </div>
      </div>
      {samples.length === 0 ? (
        <div className="empty" style={{ height: 240, display: 'grid', placeItems: 'center' }}>
          {pings?.error ? <span className="err-text">{pings.error}</span> : 'Press Ping: replies stream in here, with the path each one took.'}
        </div>
      ) : (
        <LatencyChart samples={samples} marks={marks} stats={stats} />
      )}
      {pings?.error && samples.length > 0 && <div className="marks err-text">{pings.error}</div>}
      <div className="marks" data-testid="path-changes">
        {changes.length === 0 ? (
          <span className="muted">No path changes{samples.length ? ' while pinging' : ''}.</span>
        ) : (
          changes.slice(-8).map((m) => (
            <span key={m.at + m.to} className="tag">
              {formatClock(m.at)} {m.from} → {m.to}
            </span>
          ))
        )}
      </div>
    </section>
  );
}

function Counters({ d }: { d: PeerDetail }): React.JSX.Element {
  const c = d.counters;
  const drops = Object.entries(c.drops).sort((a, b) => b[1] - a[1]);
  const totalDrops = drops.reduce((n, [, v]) => n + v, 0);
  return (
    <section className="panel" data-testid="inspector-counters">
      <div className="panel-h">Counters</div>
      <table className="ctable">
        <thead>
          <tr>
            <th />
            <th className="r">in</th>
            <th className="r">out</th>
          </tr>
        </thead>
        <tbody>
          <tr>
            <td>bytes</td>
            <td className="r" data-testid="counter-bytes-in">{formatBytes(c.bytesIn)}</td>
            <td className="r" data-testid="counter-bytes-out">{formatBytes(c.bytesOut)}</td>
          </tr>
          <tr>
            <td>frames</td>
            <td className="r" data-testid="counter-frames-in">{formatCount(c.framesIn)}</td>
            <td className="r" data-testid="counter-frames-out">{formatCount(c.framesOut)}</td>
          </tr>
          <tr>
            <td>key exchanges</td>
            <td className="r">{c.keyExchangesReceived}</td>
            <td className="r">{c.keyExchangesSent}</td>
          </tr>
          <tr>
            <td>relayed</td>
            <td className="r">{formatCount(c.relayedIn)}</td>
            <td className="r">{formatCount(c.relayedOut)}</td>
          </tr>
          <tr>
            <td>retransmits</td>
            <td className="r" />
            <td className="r" data-testid="counter-retransmits">{formatCount(c.retransmits)}</td>
          </tr>
        </tbody>
      </table>
      <div className="panel-b">
        <div className="dim" style={{ marginBottom: 4 }}>
          Drops by reason <span className="muted num">({totalDrops})</span>
        </div>
        {drops.length === 0 ? (
          <span className="muted">none</span>
        ) : (
          drops.map(([reason, n]) => (
            <div key={reason} className="kv" data-testid={`drop-${reason}`}>
              <span className="mono">{reason}</span>
              <span className="num">{n}</span>
            </div>
          ))
        )}
      </div>
    </section>
  );
}

function Inspector({ d, now }: { d: PeerDetail; now: number }): React.JSX.Element {
  const liveLogs = useStore(selectLogEntries);
  const lines = useMemo(() => {
    const live = liveLogs.filter((e) => e.peer === d.nodeId).map((e) => e.line);
    const all = [...d.logs, ...live];
    const seen = new Set<string>();
    return all.filter((l) => {
      const k = l.t + l.msg;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    }).slice(-60);
  }, [liveLogs, d.logs, d.nodeId]);
  return (
    <div className="stack">
      <section className="panel" data-testid="inspector-identity">
        <div className="panel-h">Identity &amp; tunnel</div>
        <div className="panel-b grid2">
          <span>node id</span>
          <span className="mono">{d.nodeId}</span>
          <span>address</span>
          <span className="mono">{d.address}</span>
          <span>fingerprint</span>
          <span className="mono" data-testid="inspector-fingerprint">{d.fingerprint ? groupHex(d.fingerprint) : '—'}</span>
          <span>public key</span>
          <span className="mono dim">{d.publicKey ?? '—'}</span>
          <span>endpoint</span>
          <span className="mono">{d.endpoint ?? '—'}</span>
          <span>path</span>
          <span>
            <PathBadge path={d.path} /> <span className="muted">{d.pathChanges} change{d.pathChanges === 1 ? '' : 's'}</span>
          </span>
          <span>tunnel</span>
          <span data-testid="inspector-tunnel">
            {d.path === 'pending' ? 'not established' : 'up'} · {d.encrypted ? 'encrypted' : <span className="err-text">plaintext</span>} · {d.authenticated ? 'authenticated' : 'unauthenticated'}
          </span>
          <span>crypto</span>
          <span className="mono">{d.cryptoBackend}</span>
          <span>rtt</span>
          <span className="mono">{formatMs(d.rttMs)}</span>
          <span>last seen</span>
          <span>{d.lastSeenMs ? formatAge(now - d.lastSeenMs) : 'never'}</span>
          <span>trust</span>
          <span>
            <TrustBadge trust={d.trust} />
            {d.trust === 'none' && (
              <button className="btn small" style={{ marginLeft: 6 }} onClick={() => void requestTrust(String(d.nodeId), '').catch(() => undefined)}>
                Request trust
              </button>
            )}
          </span>
        </div>
      </section>
      <Counters d={d} />
      <section className="panel" data-testid="inspector-streams">
        <div className="panel-h">
          Open streams <span className="muted num">{d.connections.length}</span>
        </div>
        {d.connections.length === 0 ? (
          <div className="panel-b muted">No open streams.</div>
        ) : (
          <table className="ctable">
            <thead>
              <tr>
                <th>ports</th>
                <th>state</th>
                <th className="r">sent</th>
                <th className="r">recv</th>
                <th className="r">srtt</th>
                <th className="r">cwnd</th>
                <th className="r">rtx</th>
              </tr>
            </thead>
            <tbody>
              {d.connections.map((c) => (
                <tr key={c.id}>
                  <td className="mono">
                    {c.localPort} → {c.remotePort}
                  </td>
                  <td>{c.state}</td>
                  <td className="r">{formatBytes(c.bytesSent)}</td>
                  <td className="r">{formatBytes(c.bytesRecv)}</td>
                  <td className="r">{formatMs(c.srttMs)}</td>
                  <td className="r">{c.cwnd}</td>
                  <td className="r">{c.retransmits}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section className="panel">
        <div className="panel-h">
          Recent log lines
          <span className="spacer" />
          <a href={hrefOf({ view: 'logs', peer: d.nodeId })} style={{ textTransform: 'none', letterSpacing: 0, fontWeight: 400 }}>
            all logs for this peer →
          </a>
        </div>
        <div className="loglines" data-testid="inspector-logs">
          {lines.length === 0 ? (
            <div className="muted">Nothing logged about this peer.</div>
          ) : (
            lines.map((l, i) => (
              <div key={i} title={JSON.stringify(l.fields)}>
                <span className="muted">{formatClock(l.t)}</span> <span className={`lvl lvl-${l.level}`}>{l.level}</span> {l.msg}
              </div>
            ))
          )}
        </div>
      </section>
    </div>
  );
}

export function PeerView({ nodeId }: { nodeId: number }): React.JSX.Element {
  const peer = useStore(selectPeer(nodeId));
  const detail = useStore(selectPeerDetail(nodeId));
  const now = useNow(1000);
  useEffect(() => watchPeer(nodeId), [nodeId]);
  const target = peer?.address ?? detail?.detail.address ?? String(nodeId);
  const name = peer?.hostname ?? detail?.detail.hostname;

  return (
    <>
      <div className="peer-head">
        <a href={hrefOf({ view: 'fleet' })} className="btn small ghost">
          ← Fleet
        </a>
        <span className="name" data-testid="peer-title">{name ?? <span className="muted">node {nodeId}</span>}</span>
        <span className="mono dim">{target}</span>
        {peer && <PathBadge path={peer.path} />}
        {peer && <TrustBadge trust={peer.trust} />}
        {peer && <Tags tags={peer.tags} />}
        {peer && <Tags tags={peer.groups} kind="group" />}
      </div>
      <div className="peer-grid">
        <div className="stack">
          <PingPanel nodeId={nodeId} target={target} />
          <WhyPath nodeId={nodeId} />
        </div>
        {detail ? <Inspector d={detail.detail} now={now} /> : <section className="panel"><div className="empty">Inspecting…</div></section>}
      </div>
    </>
  );
}
