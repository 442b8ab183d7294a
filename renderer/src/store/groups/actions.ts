import type { BroadcastReport, GroupMemberView, GroupView } from '../../../../shared/contract';
import { dispatch } from '../root';
import type { GroupOp } from './state';

export const groupsLoaded = (groups: GroupView[], at = Date.now()): void => dispatch({ type: 'groupsLoaded', groups, at });
export const groupChanged = (e: { name: string; event: string; nodeId: number; group?: GroupView }, at = Date.now()): void =>
  dispatch({ type: 'groupChanged', ...e, at });
export const groupMembersLoaded = (name: string, members: GroupMemberView[], at = Date.now()): void => dispatch({ type: 'groupMembersLoaded', name, members, at });
export const groupRequested = (name: string, op: GroupOp): void => dispatch({ type: 'groupRequested', name, op });
export const groupJoined = (group: GroupView): void => dispatch({ type: 'groupJoined', group });
export const groupCreated = (group: GroupView): void => dispatch({ type: 'groupCreated', group });
export const groupLeft = (name: string): void => dispatch({ type: 'groupLeft', name });
export const groupRequestFailed = (name: string, op: GroupOp, message: string): void => dispatch({ type: 'groupRequestFailed', name, op, message });
export const broadcastSent = (report: BroadcastReport, at = Date.now()): void => dispatch({ type: 'broadcastSent', report, at });
