import { useMemo, useState } from 'react';
import type { TaskView } from '../../../shared/contract';
import { setDemoPaused } from '../app/task-commands';
import { formatAge, formatMs } from '../lib/format';
import { useNow } from '../lib/hooks';
import { hrefOf } from '../lib/route';
import { useStore } from '../store/root';
import { demoPaused, selectTasksState, taskCounts, taskRows, type TaskRow } from '../store/tasks/selectors';

const STATE_CLASS: Record<TaskRow['state'], string> = { running: 'path-punched', done: 'path-direct', failed: 'path-relay' };

function DemoBar(): React.JSX.Element | null {
  const s = useStore(selectTasksState);
  const paused = demoPaused(s);
  if (paused === undefined || !s.demo) return null;
  const d = s.demo;
  return (
    <section className="panel" data-testid="demo-bar" data-paused={String(paused)}>
      <div className="panel-b" style={{ display: 'flex', alignItems: 'center', gap: 12, flexWrap: 'wrap' }}>
        <span className={`badge ${paused ? 'path-pending' : 'path-direct'}`}>{paused ? 'demo workload paused' : 'demo workload running'}</span>
        <span className="muted" style={{ fontSize: 12 }}>
          the coordinator asks the backbone for a specialist by capability and sends it a research step every few seconds ·{' '}
          <span className="num" data-testid="demo-counts">
            {d.submitted} submitted · {d.completed} completed · {d.failed} failed
          </span>
        </span>
        {d.lastError && (
          <span className="muted" style={{ fontSize: 12 }} title={d.lastError}>
            last failure: {d.lastError.slice(0, 80)}
          </span>
        )}
        <span className="spacer" style={{ flex: 1 }} />
        {s.demoError && <span style={{ color: 'var(--err)', fontSize: 12 }}>{s.demoError}</span>}
        <button className="btn small" data-testid="demo-pause" onClick={() => void setDemoPaused(!paused)}>
          {paused ? 'Resume' : 'Pause'}
        </button>
      </div>
    </section>
  );
}

export function TasksView(): React.JSX.Element {
  const s = useStore(selectTasksState);
  const byAddress = useStore((st) => st.peers.byId);
  const now = useNow(1000);
  const [category, setCategory] = useState<TaskView['category'] | undefined>(undefined);
  const rows = useMemo(() => taskRows(s, category), [s, category]);
  const counts = useMemo(() => taskCounts(s), [s]);
  const names = useMemo(() => {
    const m = new Map<string, string>();
    for (const p of Object.values(byAddress)) if (p.hostname) m.set(p.address, p.hostname);
    return m;
  }, [byAddress]);
  const name = (addr: string): string => names.get(addr) ?? addr;

  return (
    <div style={{ display: 'flex', flexDirection: 'column', gap: 12 }}>
      <DemoBar />
      <section className="panel">
        <div className="panel-h" style={{ display: 'flex', alignItems: 'center', gap: 10 }}>
          Tasks{' '}
          <span className="muted num" data-testid="task-counts">
            {counts.submitted} submitted · {counts.received} received · {counts.running} running · {counts.failed} failed
          </span>
          <span className="spacer" style={{ flex: 1 }} />
          <div className="seg" role="group" aria-label="task category">
            {([undefined, 'submitted', 'received'] as const).map((c) => (
              <button key={c ?? 'all'} className={category === c ? 'on' : ''} onClick={() => setCategory(c)} data-testid={`tasks-${c ?? 'all'}`}>
                {c ?? 'all'}
              </button>
            ))}
          </div>
        </div>
        {rows.length === 0 ? (
          <div className="panel-b muted">No tasks yet. Submit one with pilotctl task submit --tag news --task "…", or run the console with its demo fleet.</div>
        ) : (
          <table className="ctable" data-testid="task-table">
            <thead>
              <tr>
                <th>status</th>
                <th />
                <th>task</th>
                <th>served by / from</th>
                <th className="r">created</th>
                <th className="r">took</th>
                <th>trace</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.task.taskId} data-testid={`task-row-${r.task.taskId}`} data-category={r.task.category} data-state={r.state}>
                  <td>
                    <span className={`badge ${STATE_CLASS[r.state]}`}>{r.task.status.toLowerCase()}</span>
                  </td>
                  <td className="muted">{r.task.category === 'submitted' ? '→' : '←'}</td>
                  <td title={r.task.description} style={{ maxWidth: 360, overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }}>
                    {r.task.description}
                  </td>
                  <td className="mono" title={r.peer}>
                    {name(r.peer)}
                  </td>
                  <td className="r muted">{formatAge(now - Date.parse(r.task.createdAt))}</td>
                  <td className="r num">{r.durationMs !== undefined ? formatMs(r.durationMs) : r.state === 'running' ? '…' : '—'}</td>
                  <td className="mono">
                    {r.task.traceId ? (
                      <a href={hrefOf({ view: 'traces', traceId: r.task.traceId })} data-testid="task-trace">
                        {r.task.traceId.slice(0, 8)}…
                      </a>
                    ) : (
                      '—'
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
