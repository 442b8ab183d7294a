import { describe, expect, it } from 'vitest';
import { group } from '../../testing/fixtures';
import { LIMITS } from '../ring';
import { groupsReducer } from './reducer';
import { groupHealth, sortGroups } from './selectors';
import { initialGroupsState, type GroupsState } from './state';

const loaded = (): GroupsState =>
  groupsReducer(initialGroupsState, { type: 'groupsLoaded', groups: [group('BACKBONE', { members: 10, online: 8, joined: true }), group('TRADING', { id: 2, members: 3, online: 1 })], at: 1 });

describe('groups reducer', () => {
  it('groupsLoaded indexes groups by name', () => {
    expect(Object.keys(loaded().byName)).toEqual(['BACKBONE', 'TRADING']);
  });

  it('groupChanged with the group projection updates counts exactly and logs the change', () => {
    let s = groupsReducer(loaded(), { type: 'groupMembersLoaded', name: 'TRADING', members: [], at: 2 });
    s = groupsReducer(s, { type: 'groupChanged', name: 'TRADING', event: 'member_joined', nodeId: 9, group: group('TRADING', { id: 2, members: 4, online: 2 }), at: 3 });
    expect(s.byName['TRADING']).toMatchObject({ members: 4, online: 2 });
    expect(s.recent).toEqual([{ name: 'TRADING', event: 'member_joined', nodeId: 9, at: 3 }]);
    expect(s.members['TRADING']).toBeUndefined(); // stale member list dropped
  });

  it('groupChanged without a projection does not guess counts', () => {
    const s = groupsReducer(loaded(), { type: 'groupChanged', name: 'TRADING', event: 'member_joined', nodeId: 9, at: 3 });
    expect(s.byName['TRADING']).toMatchObject({ members: 3, online: 1 });
    expect(s.recent).toHaveLength(1);
  });

  it('the change feed is bounded', () => {
    let s = loaded();
    for (let i = 0; i < LIMITS.groupEvents + 10; i++) s = groupsReducer(s, { type: 'groupChanged', name: 'X', event: 'member_left', nodeId: i, at: i });
    expect(s.recent).toHaveLength(LIMITS.groupEvents);
  });

  it('a join goes pending, then joined with the node’s view of the group', () => {
    let s = groupsReducer(loaded(), { type: 'groupRequested', name: 'TRADING', op: 'join' });
    expect(s.pending['TRADING']).toBe('join');
    s = groupsReducer(s, { type: 'groupJoined', group: group('TRADING', { id: 2, members: 4, online: 2, joined: true }) });
    expect(s.pending['TRADING']).toBeUndefined();
    expect(s.byName['TRADING']).toMatchObject({ joined: true, members: 4 });
  });

  it('a failed operation records its error and clears the pending state', () => {
    let s = groupsReducer(loaded(), { type: 'groupRequested', name: 'TRADING', op: 'join' });
    s = groupsReducer(s, { type: 'groupRequestFailed', name: 'TRADING', op: 'join', message: 'invite only' });
    expect(s.pending).toEqual({});
    expect(s.errors['TRADING']).toBe('join: invite only');
    s = groupsReducer(s, { type: 'groupRequested', name: 'TRADING', op: 'join' });
    expect(s.errors['TRADING']).toBeUndefined();
  });

  it('groupLeft clears membership and takes this node out of the counts', () => {
    const s = groupsReducer(loaded(), { type: 'groupLeft', name: 'BACKBONE' });
    expect(s.byName['BACKBONE']).toMatchObject({ joined: false, members: 9, online: 7 });
  });

  it('groupCreated adds the group', () => {
    const s = groupsReducer(loaded(), { type: 'groupCreated', group: group('LABS', { id: 3, members: 1, online: 1, joined: true }) });
    expect(s.byName['LABS']?.joined).toBe(true);
  });

  it('broadcastSent keeps the report', () => {
    const s = groupsReducer(loaded(), { type: 'broadcastSent', report: { group: 'BACKBONE', sent: 7, members: 9 }, at: 5 });
    expect(s.broadcasts).toEqual([{ group: 'BACKBONE', sent: 7, members: 9, at: 5 }]);
  });
});

describe('group selectors', () => {
  it('status-page order: joined, then larger, then by name', () => {
    const s = loaded();
    expect(sortGroups({ ...s.byName, ALPHA: group('ALPHA', { members: 3 }) }).map((g) => g.name)).toEqual(['BACKBONE', 'ALPHA', 'TRADING']);
  });
  it('health from live counts', () => {
    expect(groupHealth(group('a', { members: 0 }))).toBe('empty');
    expect(groupHealth(group('a', { members: 4, online: 0 }))).toBe('down');
    expect(groupHealth(group('a', { members: 4, online: 1 }))).toBe('degraded');
    expect(groupHealth(group('a', { members: 4, online: 2 }))).toBe('up');
  });
});
