import { describe, expect, it } from 'vitest';
import { trustReducer } from './reducer';
import { notifications } from './selectors';
import { initialTrustState, type TrustSliceState } from './state';

const req = (nodeId: number, receivedAt = nodeId) => ({ nodeId, justification: `from ${nodeId}`, receivedAt });
const withTwo = (): TrustSliceState => trustReducer(trustReducer(initialTrustState, { type: 'trustRequested', request: req(7, 10) }), { type: 'trustRequested', request: req(8, 20) });

describe('trust reducer', () => {
  it('trustRequested adds a notification, newest first', () => {
    expect(notifications(withTwo()).map((r) => r.nodeId)).toEqual([8, 7]);
  });

  it('deciding, then trustChanged settles the request', () => {
    let s = trustReducer(withTwo(), { type: 'trustDecisionStarted', nodeId: 7, decision: 'approve' });
    expect(s.deciding[7]).toBe('approve');
    s = trustReducer(s, { type: 'trustChanged', nodeId: 7, state: 'trusted', at: 1 });
    expect(s.pending[7]).toBeUndefined();
    expect(s.deciding[7]).toBeUndefined();
    expect(notifications(s).map((r) => r.nodeId)).toEqual([8]);
  });

  it('a failed decision keeps the request and shows the error', () => {
    let s = trustReducer(withTwo(), { type: 'trustDecisionStarted', nodeId: 7, decision: 'reject' });
    s = trustReducer(s, { type: 'trustDecisionFailed', nodeId: 7, message: 'timeout' });
    expect(s.pending[7]).toBeDefined();
    expect(s.deciding[7]).toBeUndefined();
    expect(s.errors[7]).toBe('timeout');
  });

  it('dismissed requests leave the notifications but stay pending, until restored', () => {
    let s = trustReducer(withTwo(), { type: 'trustNotificationDismissed', nodeId: 8 });
    expect(notifications(s).map((r) => r.nodeId)).toEqual([7]);
    expect(Object.keys(s.pending)).toEqual(['7', '8']);
    s = trustReducer(s, { type: 'trustNotificationsRestored' });
    expect(notifications(s)).toHaveLength(2);
  });

  it('a revoked peer leaves the trusted list; pending_in is not an answer', () => {
    let s = trustReducer(withTwo(), { type: 'trustListLoaded', peers: [{ nodeId: 9, approvedAt: 1, mutual: true, network: 0 }] });
    expect(trustReducer(s, { type: 'trustChanged', nodeId: 7, state: 'pending_in', at: 1 })).toBe(s);
    s = trustReducer(s, { type: 'trustChanged', nodeId: 9, state: 'none', at: 2 });
    expect(s.trusted).toEqual({});
  });

  it('trustPendingLoaded replaces the pending set', () => {
    const s = trustReducer(withTwo(), { type: 'trustPendingLoaded', requests: [req(3)] });
    expect(Object.keys(s.pending)).toEqual(['3']);
  });
});
