import type { GroupView } from '../../../../shared/contract';
import type { RootState } from '../root';

export const selectGroupsByName = (s: RootState) => s.groups.byName;
export const selectGroupMembers = (name: string) => (s: RootState) => s.groups.members[name];
export const selectGroupPending = (s: RootState) => s.groups.pending;
export const selectGroupErrors = (s: RootState) => s.groups.errors;
export const selectGroupFeed = (s: RootState) => s.groups.recent;

/** Joined groups first, then by size, then by name: a status page's order. */
export function sortGroups(byName: Record<string, GroupView>): GroupView[] {
  return Object.values(byName).sort((a, b) => Number(b.joined) - Number(a.joined) || b.members - a.members || a.name.localeCompare(b.name));
}

export type GroupHealth = 'up' | 'degraded' | 'down' | 'empty';

/** Status-page colour of a group from its live counts. */
export function groupHealth(g: GroupView): GroupHealth {
  if (g.members === 0) return 'empty';
  if (g.online === 0) return 'down';
  return g.online * 2 >= g.members ? 'up' : 'degraded';
}
