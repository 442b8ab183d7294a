import { useEffect, useMemo } from 'react';
import type { NetcheckView, NodeInfoView, PathKind } from '../../../shared/contract';
import { quietly, refreshNodeInfo, runNetcheck } from '../app/commands';
import { Tags } from '../components/Badges';
import { formatAge, formatBytes, formatClock, formatDuration, formatMs, groupHex } from '../lib/format';
import { useNow } from '../lib/hooks';
import { hrefOf } from '../lib/route';
import { selectNode } from '../store/connection/selectors';
import { REACH_PATH, natExplanation, natReach, netcheckStatus, selectNetcheck } from '../store/netcheck/selectors';
import type { NetcheckState } from '../store/netcheck/state';
import { selectPeersById, selectTunnelCount, summarizeFleet } from '../store/peers/selectors';
import { useStore } from '../store/root';

const PATH_TILES: { path: PathKind; label: string; sub: string }[] = [
  { path: 'direct', label: 'Direct', sub: 'straight to the peer' },
  { path: 'punched', label: 'Punched', sub: 'through both NATs' },
  { path: 'relay', label: 'Relay', sub: 'via the beacon' },
  { path: 'pending', label: 'Pending', sub: 'no tunnel yet' },
];

function NatTypeBadge({ r }: { r: NetcheckView }): React.JSX.Element {
  return (
    <span className={`badge path-${REACH_PATH[natReach(r.natType)]}`} data-testid="netcheck-nat-type" data-nat-type={r.natType}>
      {r.natType}
    </span>
  );
}

function LastRun({ nc, now }: { nc: NetcheckState; now: number }): React.JSX.Element {
  if (nc.running !== undefined) return <span className="muted">running…</span>;
  if (nc.finishedAt === undefined) return <span className="muted">never run</span>;
  const took = nc.startedAt !== undefined ? nc.finishedAt - nc.startedAt : undefined;
  return (
    <span className="muted num" data-testid="netcheck-last-run" data-at={nc.finishedAt} title={new Date(nc.finishedAt).toISOString()}>
      last run {formatClock(nc.finishedAt)} · {formatAge(now - nc.finishedAt)}
      {took !== undefined && ` · took ${formatMs(took)}`}
    </span>
  );
}

function Report({ r, at, now }: { r: NetcheckView; at: number | undefined; now: number }): React.JSX.Element {
  const reach = natReach(r.natType);
  return (
    <>
      <div className="ping-stats" style={{ gridTemplateColumns: 'repeat(4, minmax(0, 1fr))' }}>
        <div>
          <div className="label">NAT type</div>
          <div className="value" style={{ fontSize: 13, paddingTop: 2 }}>
            <NatTypeBadge r={r} />
          </div>
        </div>
        <div>
          <div className="label">mapping</div>
          <div className="value" style={{ fontSize: 13, paddingTop: 2 }} data-testid="netcheck-mapping" data-mapping={r.mapping}>
            {r.mapping}
          </div>
        </div>
        <div>
          <div className="label">port preserved</div>
          <div className="value" style={{ fontSize: 13, paddingTop: 2 }}>
            {r.portPreserved === undefined ? '—' : r.portPreserved ? 'yes' : 'no'}
          </div>
        </div>
        <div>
          <div className="label">peers reach it by</div>
          <div className="value" style={{ fontSize: 13, paddingTop: 2 }}>
            <span className={`badge path-${REACH_PATH[reach]}`} data-testid="netcheck-reach" data-reach={reach}>
              {reach}
            </span>
          </div>
        </div>
      </div>
      <div className="panel-b" data-testid="netcheck-explanation">
        {natExplanation(r)}
      </div>
      <div className="panel-b grid2" style={{ borderTop: '1px solid var(--line)' }}>
        <span>tunnel socket</span>
        <span className="mono" data-testid="netcheck-local">{r.tunnelLocal}</span>
        <span>beacon</span>
        <span className="mono">{r.beacon}</span>
        <span>beacon sees</span>
        <span className="mono" data-testid="netcheck-public">{r.publicEndpoint ?? <span className="err-text">no answer</span>}</span>
        <span>netcheck port</span>
        <span className="mono">{r.netcheckServer ?? '—'}</span>
        <span>netcheck port sees</span>
        <span className="mono" data-testid="netcheck-public-alt">{r.publicEndpointAlt ?? (r.netcheckServer ? <span className="muted">no answer</span> : '—')}</span>
        <span>node says</span>
        <span className="dim" data-testid="netcheck-hint">{r.hint || '—'}</span>
        <span>measured</span>
        <span className="dim">{at === undefined ? '—' : `${formatClock(at)} (${formatAge(now - at)})`}</span>
      </div>
    </>
  );
}

function NetcheckPanel({ now }: { now: number }): React.JSX.Element {
  const nc = useStore(selectNetcheck);
  const status = netcheckStatus(nc);
  const running = status === 'running';
  return (
    <section className="panel" data-testid="netcheck-panel" data-state={status}>
      <div className="panel-h">
        NAT · what the beacon sees
        <span className="spacer" />
        <span style={{ textTransform: 'none', letterSpacing: 0, fontWeight: 400 }} className="toolbar">
          <LastRun nc={nc} now={now} />
          <button className="btn small primary" onClick={() => void runNetcheck()} disabled={running} data-testid="netcheck-run">
            {running ? 'Running…' : 'Run netcheck'}
          </button>
        </span>
      </div>
      {nc.error && (
        <div className="panel-b" data-testid="netcheck-error" data-code={nc.error.code} style={{ borderBottom: '1px solid var(--line)' }}>
          <div className="err-text">
            netcheck failed: <span className="mono" data-testid="netcheck-error-code">{nc.error.code}</span> — {nc.error.message}
          </div>
          {nc.error.hint && (
            <div className="dim" data-testid="netcheck-error-hint">
              hint: {nc.error.hint}
            </div>
          )}
          {nc.report && <div className="muted">Below: the last report that succeeded.</div>}
        </div>
      )}
      {nc.report ? (
        <div style={running ? { opacity: 0.55 } : undefined}>
          <Report r={nc.report} at={nc.reportAt} now={now} />
        </div>
      ) : running ? (
        <div className="empty" data-testid="netcheck-loading">
          Asking the beacon and its netcheck port which endpoint they see…
        </div>
      ) : (
        !nc.error && (
          <div className="empty">
            Run netcheck: the node sends a discover from its tunnel socket to the beacon and to the netcheck port; the endpoints they see tell whether this node is behind a NAT and how that NAT maps ports.
          </div>
        )
      )}
    </section>
  );
}

function Identity({ node }: { node: NodeInfoView | undefined }): React.JSX.Element {
  if (!node) {
    return (
      <section className="panel" data-testid="self-identity">
        <div className="panel-h">Identity &amp; tunnel</div>
        <div className="empty">Waiting for node.info…</div>
      </section>
    );
  }
  return (
    <section className="panel" data-testid="self-identity">
      <div className="panel-h">Identity &amp; tunnel</div>
      <div className="panel-b grid2">
        <span>hostname</span>
        <span data-testid="self-hostname">{node.hostname || <span className="muted">none</span>}</span>
        <span>address</span>
        <span className="mono" data-testid="self-address">{node.address}</span>
        <span>node id</span>
        <span className="mono" data-testid="self-node-id">{node.nodeId}</span>
        <span>fingerprint</span>
        <span className="mono" data-testid="self-fingerprint">{node.fingerprint ? groupHex(node.fingerprint) : '—'}</span>
        <span>public key</span>
        <span className="mono dim">{node.publicKey || '—'}</span>
        <span>tunnel socket</span>
        <span className="mono" data-testid="self-tunnel-endpoint">{node.tunnelEndpoint || '—'}</span>
        <span>public endpoint</span>
        <span className="mono" data-testid="self-public-endpoint">{node.publicEndpoint ?? <span className="muted">not known yet</span>}</span>
        <span>registry</span>
        <span className="link-state">
          <span className={`dot ${node.registryConnected ? 'ok' : 'err'}`} />
          <span className="mono">{node.registry}</span>
          {node.registryConnected ? '' : ' offline'}
        </span>
        <span>beacon</span>
        <span className="mono">{node.beacon}</span>
        <span>visibility</span>
        <span>{node.public ? 'public' : 'private (endpoint shown to trusted peers and group members only)'}</span>
        <span>tunnels</span>
        <span>
          {node.encrypt ? 'encrypted' : <span className="err-text">plaintext</span>} · <span className="mono">{node.cryptoBackend}</span>
        </span>
        <span>tags</span>
        <span>{node.tags.length ? <Tags tags={node.tags} /> : <span className="muted">none</span>}</span>
        <span>groups</span>
        <span>{node.groups.length ? <Tags tags={node.groups} kind="group" /> : <span className="muted">none</span>}</span>
        <span>uptime</span>
        <span className="num">{formatDuration(node.uptimeSecs)}</span>
        <span>traffic</span>
        <span className="num">
          {formatBytes(node.traffic.bytesSent)} sent · {formatBytes(node.traffic.bytesRecv)} received
        </span>
      </div>
    </section>
  );
}

export function NodeView(): React.JSX.Element {
  const node = useStore(selectNode);
  const byId = useStore(selectPeersById);
  const tunnels = useStore(selectTunnelCount);
  const summary = useMemo(() => summarizeFleet(byId), [byId]);
  const now = useNow(1000);
  // node.info is a snapshot taken when the link opened: refresh it when the view opens.
  useEffect(() => quietly(refreshNodeInfo()), []);
  const pct = (n: number): string => (summary.total ? `${Math.round((100 * n) / summary.total)}%` : '');

  return (
    <>
      <div className="tiles">
        <div className="tile">
          <div className="label">Tunnels</div>
          <div className="value" data-testid="self-tunnels">{tunnels}</div>
          <div className="sub">
            of <a href={hrefOf({ view: 'fleet' })}>{summary.total} known peers</a>
          </div>
        </div>
        {PATH_TILES.map((t) => (
          <div className="tile" key={t.path}>
            <div className="label">
              <span className="dot" style={{ background: `var(--${t.path})` }} />
              {t.label}
            </div>
            <div className="value" data-testid={`self-path-${t.path}`}>{summary.byPath[t.path]}</div>
            <div className="sub">
              {t.sub} {pct(summary.byPath[t.path])}
            </div>
          </div>
        ))}
        <div className="tile">
          <div className="label">Median RTT</div>
          <div className="value">{formatMs(summary.medianRttMs)}</div>
          <div className="sub">over peers with a sample</div>
        </div>
      </div>
      <div className="peer-grid">
        <NetcheckPanel now={now} />
        <Identity node={node} />
      </div>
    </>
  );
}
