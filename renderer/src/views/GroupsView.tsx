import { useEffect, useMemo, useState } from 'react';
import type { GroupView } from '../../../shared/contract';
import { broadcastToGroup, createGroup, joinGroup, leaveGroup, loadGroupMembers, quietly } from '../app/commands';
import { Tags } from '../components/Badges';
import { formatAge, formatClock } from '../lib/format';
import { useNow } from '../lib/hooks';
import { hrefOf } from '../lib/route';
import { groupHealth, selectGroupErrors, selectGroupFeed, selectGroupMembers, selectGroupPending, selectGroupsByName, sortGroups } from '../store/groups/selectors';
import { useStore } from '../store/root';

const HEALTH_TEXT = { up: 'operational', degraded: 'degraded', down: 'offline', empty: 'no members' } as const;

function GroupRow({ g, selected, pending, error }: { g: GroupView; selected: boolean; pending?: string; error?: string }): React.JSX.Element {
  const health = groupHealth(g);
  const pct = g.members ? Math.round((100 * g.online) / g.members) : 0;
  return (
    <div className={selected ? 'grow sel' : 'grow'} data-testid={`group-row-${g.name}`}>
      <span className={`dot ${health === 'up' ? 'ok' : health === 'degraded' ? 'warn' : health === 'down' ? 'err' : ''}`} title={HEALTH_TEXT[health]} />
      <div style={{ minWidth: 0 }}>
        <a className="gname" href={hrefOf({ view: 'groups', group: g.name })} style={{ color: 'inherit' }}>
          {g.name}
        </a>
        <div className="gmeta">
          {HEALTH_TEXT[health]} · {g.joinRule} · id {g.id}
          {g.joined && <span className="tag group" style={{ marginLeft: 6 }}>member</span>}
        </div>
        {error && <div className="gmeta err-text">{error}</div>}
      </div>
      <div className="gcount" title="members">
        <span data-testid={`group-count-${g.name}`}>{g.members}</span>
      </div>
      <div>
        <div className={`bar ${health}`}>
          <i style={{ width: `${pct}%` }} />
        </div>
        <div className="gmeta num" style={{ marginTop: 3 }} data-testid={`group-online-${g.name}`}>
          {g.online} online
        </div>
      </div>
      <span className="muted num" style={{ textAlign: 'right' }}>{pct}%</span>
      <div style={{ textAlign: 'right' }}>
        {g.joined ? (
          <button className="btn small danger" disabled={pending !== undefined} onClick={() => void leaveGroup(g.name)} data-testid={`group-leave-${g.name}`}>
            {pending === 'leave' ? 'Leaving…' : 'Leave'}
          </button>
        ) : (
          <button className="btn small ok" disabled={pending !== undefined} onClick={() => void joinGroup(g.name)} data-testid={`group-join-${g.name}`}>
            {pending === 'join' ? 'Joining…' : 'Join'}
          </button>
        )}
      </div>
    </div>
  );
}

function CreateGroup(): React.JSX.Element {
  const [name, setName] = useState('');
  const [rule, setRule] = useState<'open' | 'token' | 'invite'>('open');
  const [token, setToken] = useState('');
  const pending = useStore(selectGroupPending);
  const errors = useStore(selectGroupErrors);
  const n = name.trim();
  return (
    <section className="panel">
      <div className="panel-h">Create a group</div>
      <form
        className="panel-b form-row"
        onSubmit={(e) => {
          e.preventDefault();
          if (!n) return;
          void createGroup(n, rule, rule === 'token' ? token : undefined).then(() => setName(''));
        }}
      >
        <input className="input mono" placeholder="group name" value={name} maxLength={63} onChange={(e) => setName(e.target.value)} data-testid="group-create-name" />
        <select className="select" value={rule} onChange={(e) => setRule(e.target.value as 'open' | 'token' | 'invite')}>
          <option value="open">open</option>
          <option value="token">token</option>
          <option value="invite">invite</option>
        </select>
        {rule === 'token' && <input className="input" placeholder="join token" value={token} onChange={(e) => setToken(e.target.value)} />}
        <button className="btn primary" type="submit" disabled={!n || pending[n] !== undefined} data-testid="group-create-submit">
          Create
        </button>
      </form>
      {n && errors[n] && <div className="panel-b err-text" style={{ paddingTop: 0 }}>{errors[n]}</div>}
    </section>
  );
}

function GroupDetail({ g }: { g: GroupView }): React.JSX.Element {
  const members = useStore(selectGroupMembers(g.name));
  const broadcasts = useStore((s) => s.groups.broadcasts);
  const pending = useStore(selectGroupPending)[g.name];
  const [message, setMessage] = useState('');
  const now = useNow(5000);
  useEffect(() => {
    if (!members) quietly(loadGroupMembers(g.name));
  }, [g.name, members]);
  const last = [...broadcasts].reverse().find((b) => b.group === g.name);
  return (
    <section className="panel" data-testid={`group-detail-${g.name}`}>
      <div className="panel-h">
        {g.name} <span className="muted num">{members ? `${members.list.length} members` : 'loading…'}</span>
      </div>
      <form
        className="panel-b form-row"
        style={{ borderBottom: '1px solid var(--line)' }}
        onSubmit={(e) => {
          e.preventDefault();
          if (!message) return;
          void broadcastToGroup(g.name, message).then(() => setMessage(''));
        }}
      >
        <input className="input" placeholder={`Broadcast to ${g.name}…`} value={message} onChange={(e) => setMessage(e.target.value)} data-testid={`group-broadcast-input-${g.name}`} />
        <button className="btn primary" type="submit" disabled={!message || !g.joined || pending !== undefined} title={g.joined ? '' : 'join the group to broadcast'} data-testid={`group-broadcast-${g.name}`}>
          {pending === 'broadcast' ? 'Sending…' : 'Broadcast'}
        </button>
      </form>
      {last && (
        <div className="panel-b dim" data-testid="broadcast-result">
          Last broadcast: sent to {last.sent} of {last.members} members, {formatAge(now - last.at)}.
        </div>
      )}
      <table className="ctable">
        <thead>
          <tr>
            <th />
            <th>host</th>
            <th>address</th>
            <th>tags</th>
            <th className="r">last seen</th>
          </tr>
        </thead>
        <tbody>
          {(members?.list ?? []).map((m) => (
            <tr key={m.nodeId}>
              <td>
                <span className={`dot ${m.online ? 'ok' : ''}`} />
              </td>
              <td>
                <a href={hrefOf({ view: 'peer', nodeId: m.nodeId })}>{m.hostname ?? `node ${m.nodeId}`}</a>
              </td>
              <td className="mono dim">{m.address}</td>
              <td>
                <Tags tags={m.tags} />
              </td>
              <td className="r dim">{m.online ? 'online' : m.lastSeen ? formatAge(now - Date.parse(m.lastSeen)) : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function GroupsView({ group }: { group?: string }): React.JSX.Element {
  const byName = useStore(selectGroupsByName);
  const pending = useStore(selectGroupPending);
  const errors = useStore(selectGroupErrors);
  const feed = useStore(selectGroupFeed);
  const groups = useMemo(() => sortGroups(byName), [byName]);
  const selected = group ? byName[group] : undefined;
  const up = groups.filter((g) => groupHealth(g) === 'up').length;
  const allUp = groups.length > 0 && up === groups.length;
  return (
    <div className="groups">
      <div className="stack">
        <section className="panel">
          <div className="status-head">
            <span className={`dot ${allUp ? 'ok' : groups.length ? 'warn' : ''}`} />
            <span className="big">{groups.length === 0 ? 'No groups yet' : allUp ? 'All groups operational' : `${up} of ${groups.length} groups operational`}</span>
            <span className="spacer" style={{ flex: 1 }} />
            <span className="muted">members · online</span>
          </div>
          {groups.map((g) => (
            <GroupRow key={g.name} g={g} selected={g.name === group} {...(pending[g.name] ? { pending: pending[g.name] } : {})} {...(errors[g.name] ? { error: errors[g.name] } : {})} />
          ))}
        </section>
        {selected && <GroupDetail g={selected} />}
      </div>
      <div className="stack">
        <CreateGroup />
        <section className="panel">
          <div className="panel-h">Membership changes</div>
          <div className="feed" data-testid="group-feed">
            {feed.length === 0 ? (
              <div className="muted">Nothing yet: joins and leaves appear here live.</div>
            ) : (
              [...feed].reverse().slice(0, 100).map((e, i) => (
                <div key={i}>
                  <span className="muted mono">{formatClock(e.at)}</span>
                  <span className="tag group">{e.name}</span>
                  <span>{e.event.replace(/_/g, ' ')}</span>
                  {e.nodeId > 0 && (
                    <a className="mono" href={hrefOf({ view: 'peer', nodeId: e.nodeId })}>
                      node {e.nodeId}
                    </a>
                  )}
                </div>
              ))
            )}
          </div>
        </section>
      </div>
    </div>
  );
}
