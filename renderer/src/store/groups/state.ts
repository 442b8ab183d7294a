import type { BroadcastReport, GroupMemberView, GroupView } from '../../../../shared/contract';

export type GroupOp = 'join' | 'leave' | 'create' | 'broadcast';

export interface GroupEventEntry {
  name: string;
  event: string;
  nodeId: number;
  at: number;
}

export interface GroupsState {
  byName: Record<string, GroupView>;
  members: Record<string, { list: GroupMemberView[]; at: number }>;
  /** Operations this page started and is waiting on, per group. */
  pending: Record<string, GroupOp>;
  errors: Record<string, string>;
  recent: GroupEventEntry[];
  broadcasts: (BroadcastReport & { at: number })[];
  loadedAt?: number;
}

export type GroupsAction =
  | { type: 'groupsLoaded'; groups: GroupView[]; at: number }
  | { type: 'groupChanged'; name: string; event: string; nodeId: number; group?: GroupView; at: number }
  | { type: 'groupMembersLoaded'; name: string; members: GroupMemberView[]; at: number }
  | { type: 'groupRequested'; name: string; op: GroupOp }
  | { type: 'groupJoined'; group: GroupView }
  | { type: 'groupCreated'; group: GroupView }
  | { type: 'groupLeft'; name: string }
  | { type: 'groupRequestFailed'; name: string; op: GroupOp; message: string }
  | { type: 'broadcastSent'; report: BroadcastReport; at: number };

export const initialGroupsState: GroupsState = { byName: {}, members: {}, pending: {}, errors: {}, recent: [], broadcasts: [] };
