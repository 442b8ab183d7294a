import type { GroupView } from '../../../../shared/contract';
import type { RootAction } from '../actions';
import { LIMITS, appendBounded } from '../ring';
import type { GroupsState } from './state';

function without<T>(rec: Record<string, T>, key: string): Record<string, T> {
  if (!(key in rec)) return rec;
  const next = { ...rec };
  delete next[key];
  return next;
}

function settle(state: GroupsState, name: string): GroupsState {
  return { ...state, pending: without(state.pending, name), errors: without(state.errors, name) };
}

function upsert(state: GroupsState, group: GroupView): GroupsState {
  return { ...state, byName: { ...state.byName, [group.name]: group } };
}

export function groupsReducer(state: GroupsState, action: RootAction): GroupsState {
  switch (action.type) {
    case 'groupsLoaded': {
      const byName: Record<string, GroupView> = {};
      for (const g of action.groups) byName[g.name] = g;
      return { ...state, byName, loadedAt: action.at };
    }
    case 'groupChanged': {
      const entry = { name: action.name, event: action.event, nodeId: action.nodeId, at: action.at };
      const next: GroupsState = { ...state, recent: appendBounded(state.recent, [entry], LIMITS.groupEvents) };
      // With the group's new projection the counts are exact; without it the page reloads the list
      // (app/sync.ts) rather than guess. Either way the member list is stale: drop it.
      const updated = action.group ? upsert(next, action.group) : next;
      return { ...updated, members: without(updated.members, action.name) };
    }
    case 'groupMembersLoaded':
      return { ...state, members: { ...state.members, [action.name]: { list: action.members, at: action.at } } };
    case 'groupRequested':
      return { ...state, pending: { ...state.pending, [action.name]: action.op }, errors: without(state.errors, action.name) };
    case 'groupJoined':
    case 'groupCreated':
      return upsert(settle(state, action.group.name), action.group);
    case 'groupLeft': {
      const next = settle(state, action.name);
      const g = next.byName[action.name];
      if (!g || !g.joined) return next;
      return upsert(next, { ...g, joined: false, members: Math.max(0, g.members - 1), online: Math.max(0, g.online - 1) });
    }
    case 'groupRequestFailed':
      return { ...state, pending: without(state.pending, action.name), errors: { ...state.errors, [action.name]: `${action.op}: ${action.message}` } };
    case 'broadcastSent':
      return { ...settle(state, action.report.group), broadcasts: appendBounded(state.broadcasts, [{ ...action.report, at: action.at }], 50) };
    default:
      return state;
  }
}
