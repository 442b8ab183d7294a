/**
 * The console's zustand store: one state object made of slices, each updated by its own pure
 * reducer. `dispatch` queues actions and applies them together once per frame when a scheduler is
 * set (the page sets one; tests run synchronously), so a burst of node events renders once.
 */
import { create } from 'zustand';
import type { LogLine, SpanView } from '../../../shared/contract';
import type { RootAction } from './actions';
import { connectionReducer } from './connection/reducer';
import { initialConnectionState, type ConnectionState } from './connection/state';
import { fleetReducer } from './fleet/reducer';
import { initialFleetState, type FleetState } from './fleet/state';
import { groupsReducer } from './groups/reducer';
import { initialGroupsState, type GroupsState } from './groups/state';
import { logsReducer } from './logs/reducer';
import { initialLogsState, type LogsState } from './logs/state';
import { netcheckReducer } from './netcheck/reducer';
import { initialNetcheckState, type NetcheckState } from './netcheck/state';
import { peersReducer } from './peers/reducer';
import { initialPeersState, type PeersState } from './peers/state';
import { pingsReducer } from './pings/reducer';
import { initialPingsState, type PingsState } from './pings/state';
import { tasksReducer } from './tasks/reducer';
import { initialTasksState, type TasksState } from './tasks/state';
import { tracesReducer } from './traces/reducer';
import { initialTracesState, type TracesState } from './traces/state';
import { trustReducer } from './trust/reducer';
import { initialTrustState, type TrustSliceState } from './trust/state';

export interface RootState {
  connection: ConnectionState;
  peers: PeersState;
  pings: PingsState;
  groups: GroupsState;
  traces: TracesState;
  logs: LogsState;
  trust: TrustSliceState;
  netcheck: NetcheckState;
  tasks: TasksState;
  fleet: FleetState;
}

export const initialRootState: RootState = {
  connection: initialConnectionState,
  peers: initialPeersState,
  pings: initialPingsState,
  groups: initialGroupsState,
  traces: initialTracesState,
  logs: initialLogsState,
  trust: initialTrustState,
  netcheck: initialNetcheckState,
  tasks: initialTasksState,
  fleet: initialFleetState,
};

export function rootReducer(s: RootState, a: RootAction): RootState {
  const next: RootState = {
    connection: connectionReducer(s.connection, a),
    peers: peersReducer(s.peers, a),
    pings: pingsReducer(s.pings, a),
    groups: groupsReducer(s.groups, a),
    traces: tracesReducer(s.traces, a),
    logs: logsReducer(s.logs, a),
    trust: trustReducer(s.trust, a),
    netcheck: netcheckReducer(s.netcheck, a),
    tasks: tasksReducer(s.tasks, a),
    fleet: fleetReducer(s.fleet, a),
  };
  for (const k of Object.keys(next) as (keyof RootState)[]) if (next[k] !== s[k]) return next;
  return s;
}

export const useStore = create<RootState>()(() => initialRootState);

export const getState = (): RootState => useStore.getState();

type Scheduler = (flush: () => void) => void;
let schedule: Scheduler | undefined;
let queue: RootAction[] = [];
let scheduled = false;

/**
 * A batch with its live spans and log lines folded into one action each (spansEnded, logsAppended),
 * placed where the first one was: one merge into the bounded ring per batch instead of one per event
 * (a 500-peer fleet pushes ~90 spans and ~35 log lines a second while the console sweeps it). No
 * other action touches those slices but a snapshot load, which starts a new fold after it.
 */
export function foldLiveActions(batch: readonly RootAction[]): RootAction[] {
  const out: RootAction[] = [];
  let spans: SpanView[] | undefined;
  let lines: LogLine[] | undefined;
  for (const a of batch) {
    if (a.type === 'spanEnded') {
      if (!spans) out.push({ type: 'spansEnded', spans: (spans = []) });
      spans.push(a.span);
      continue;
    }
    if (a.type === 'logAppended') {
      if (!lines) out.push({ type: 'logsAppended', lines: (lines = []) });
      lines.push(a.line);
      continue;
    }
    if (a.type === 'spansLoaded') spans = undefined;
    if (a.type === 'logsLoaded') lines = undefined;
    out.push(a);
  }
  return out;
}

function flush(): void {
  scheduled = false;
  const batch = queue;
  queue = [];
  if (batch.length === 0) return;
  const prev = useStore.getState();
  const next = (batch.length > 1 ? foldLiveActions(batch) : batch).reduce(rootReducer, prev);
  if (next !== prev) useStore.setState(next, true);
}

export function dispatch(action: RootAction): void {
  queue.push(action);
  if (!schedule) return flush();
  if (!scheduled) {
    scheduled = true;
    schedule(flush);
  }
}

/** Batch dispatches until `schedule` runs the flush (e.g. the next animation frame); undefined: apply at once. */
export function setDispatchScheduler(s: Scheduler | undefined): void {
  flush();
  schedule = s;
}

/** Applies queued actions now (before reading state that must include them). */
export const flushDispatch = flush;

/** Tests: back to the initial state. */
export function resetStore(): void {
  queue = [];
  scheduled = false;
  useStore.setState(initialRootState, true);
}
