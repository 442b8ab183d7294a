import { useMemo } from 'react';
import { Notifications } from './components/Notifications';
import { formatDuration } from './lib/format';
import { useRoute } from './lib/hooks';
import { hrefOf, type Route } from './lib/route';
import { selectConnection } from './store/connection/selectors';
import { countByLevel, selectLogEntries } from './store/logs/selectors';
import { selectNetcheck } from './store/netcheck/selectors';
import { selectTunnelCount } from './store/peers/selectors';
import { useStore } from './store/root';
import { trustNotificationsRestored } from './store/trust/actions';
import { FleetView } from './views/FleetView';
import { GroupsView } from './views/GroupsView';
import { LogsView } from './views/LogsView';
import { NodeView } from './views/NodeView';
import { PeerView } from './views/PeerView';
import { TasksView } from './views/TasksView';
import { TracesView } from './views/TracesView';

const TITLES: Record<Route['view'], string> = { fleet: 'Fleet', node: 'Node', peer: 'Peer', groups: 'Groups', tasks: 'Tasks', traces: 'Traces', logs: 'Logs' };

function Sidebar({ route }: { route: Route }): React.JSX.Element {
  const peerCount = useStore((s) => Object.keys(s.peers.byId).length);
  const groupCount = useStore((s) => Object.keys(s.groups.byName).length);
  const taskCount = useStore((s) => Object.keys(s.tasks.byId).length);
  const traceCount = useStore((s) => new Set(s.traces.spans.map((x) => x.traceId)).size);
  const entries = useStore(selectLogEntries);
  const errors = useMemo(() => countByLevel(entries).error, [entries]);
  const conn = useStore(selectConnection);
  const natType = useStore((s) => selectNetcheck(s).report?.natType);
  const node = conn.node;
  const active = (v: Route['view']): string => (route.view === v || (v === 'fleet' && route.view === 'peer') ? 'active' : '');
  return (
    <aside className="sidebar">
      <div className="brand">
        <span className="brand-mark" />
        <div>
          <div className="brand-name">Pilot Fleet</div>
          <div className="brand-sub">fleet console</div>
        </div>
      </div>
      <nav className="nav">
        <a href={hrefOf({ view: 'fleet' })} className={active('fleet')} data-testid="nav-fleet">
          Fleet <span className="count">{peerCount}</span>
        </a>
        <a href={hrefOf({ view: 'node' })} className={active('node')} data-testid="nav-node" title="this node: identity, tunnel endpoints, NAT">
          Node <span className="count">{natType ? `NAT ${natType}` : ''}</span>
        </a>
        <a href={hrefOf({ view: 'groups' })} className={active('groups')} data-testid="nav-groups">
          Groups <span className="count">{groupCount}</span>
        </a>
        <a href={hrefOf({ view: 'tasks' })} className={active('tasks')} data-testid="nav-tasks">
          Tasks <span className="count">{taskCount}</span>
        </a>
        <a href={hrefOf({ view: 'traces' })} className={active('traces')} data-testid="nav-traces">
          Traces <span className="count">{traceCount}</span>
        </a>
        <a href={hrefOf({ view: 'logs' })} className={active('logs')} data-testid="nav-logs">
          Logs <span className={errors ? 'count alert' : 'count'}>{errors ? `${errors} err` : entries.length}</span>
        </a>
      </nav>
      <div className="node-card" data-testid="node-card" data-registry={node?.registry ?? ''} data-beacon={node?.beacon ?? ''}>
        <div className="host">{node?.hostname || 'this node'}</div>
        <div className="mono dim" data-testid="node-address">{node?.address ?? '—'}</div>
        <div className="kv">
          <span>registry</span>
          <span className="link-state" title={node ? `registry ${node.registry} · beacon ${node.beacon}` : ''}>
            <span className={`dot ${node?.registryConnected ? 'ok' : 'err'}`} />
            {node ? (node.registryConnected ? 'connected' : 'offline') : '—'}
          </span>
        </div>
        <div className="kv">
          <span>console</span>
          <span className="link-state" data-testid="link-status" data-status={conn.status}>
            <span className={`dot ${conn.status === 'open' ? 'ok' : conn.status === 'closed' ? 'err' : 'warn'}`} />
            {conn.status === 'open' ? conn.transport : conn.status}
          </span>
        </div>
        {node && (
          <>
            <div className="kv">
              <span>crypto</span>
              <span className="mono">{node.cryptoBackend}</span>
            </div>
            <div className="kv">
              <span>uptime</span>
              <span className="num">{formatDuration(node.uptimeSecs)}</span>
            </div>
          </>
        )}
      </div>
    </aside>
  );
}

function Body({ route }: { route: Route }): React.JSX.Element {
  switch (route.view) {
    case 'fleet':
      return <FleetView />;
    case 'node':
      return <NodeView />;
    case 'peer':
      return <PeerView key={route.nodeId} nodeId={route.nodeId} />;
    case 'groups':
      return <GroupsView {...(route.group ? { group: route.group } : {})} />;
    case 'tasks':
      return <TasksView />;
    case 'traces':
      return <TracesView {...(route.traceId ? { traceId: route.traceId } : {})} />;
    case 'logs':
      return <LogsView {...(route.peer ? { peer: route.peer } : {})} />;
  }
}

export function App({ missingClient }: { missingClient?: boolean }): React.JSX.Element {
  const route = useRoute();
  const conn = useStore(selectConnection);
  const pendingTrust = useStore((s) => Object.keys(s.trust.pending).length);
  const tunnels = useStore(selectTunnelCount);
  const fill = route.view === 'fleet' || route.view === 'traces' || route.view === 'logs';
  return (
    <div className="shell">
      <Sidebar route={route} />
      <div className="main">
        {missingClient && <div className="banner">No console connection: open the URL that <code>pilotctl console</code> printed (it carries the access token).</div>}
        {!missingClient && conn.status !== 'open' && (
          <div className="banner info" data-testid="link-banner">
            {conn.status === 'connecting' ? 'Connecting to the node…' : `Connection lost${conn.detail ? ` (${conn.detail})` : ''}; reconnecting…`}
          </div>
        )}
        <header className="topbar">
          <h1>{TITLES[route.view]}</h1>
          <span className="spacer" />
          {pendingTrust > 0 && (
            <button className="btn small" onClick={trustNotificationsRestored} data-testid="trust-pending-count" title="show trust requests">
              <span className="dot" style={{ background: 'var(--violet)' }} />
              {pendingTrust} trust request{pendingTrust === 1 ? '' : 's'}
            </button>
          )}
          {conn.node && (
            <span className="muted" style={{ fontSize: 12 }}>
              {tunnels} tunnel{tunnels === 1 ? '' : 's'} · {conn.node.connections} stream{conn.node.connections === 1 ? '' : 's'} · {conn.node.encrypt ? 'encrypted' : 'plaintext'}
            </span>
          )}
        </header>
        <main className={fill ? 'content fill' : 'content'}>
          <Body route={route} />
        </main>
      </div>
      <Notifications />
    </div>
  );
}
