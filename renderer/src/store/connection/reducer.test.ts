import { describe, expect, it } from 'vitest';
import type { NodeInfoView } from '../../../../shared/contract';
import { connectionReducer } from './reducer';
import { initialConnectionState } from './state';

describe('connection reducer', () => {
  it('tracks the link status and counts reconnects after an open link drops', () => {
    let s = connectionReducer(initialConnectionState, { type: 'transportChanged', transport: 'websocket', status: 'open', at: 5 });
    expect(s).toMatchObject({ transport: 'websocket', status: 'open', openedAt: 5, reconnects: 0 });
    s = connectionReducer(s, { type: 'transportChanged', transport: 'websocket', status: 'reconnecting', detail: 'closed (1006)', at: 6 });
    expect(s).toMatchObject({ status: 'reconnecting', detail: 'closed (1006)', reconnects: 1 });
    s = connectionReducer(s, { type: 'transportChanged', transport: 'websocket', status: 'reconnecting', at: 7 });
    expect(s.reconnects).toBe(1);
    expect(s.detail).toBeUndefined();
  });

  it('keeps the latest node info and failure', () => {
    const node = { nodeId: 1, hostname: 'n' } as NodeInfoView;
    let s = connectionReducer(initialConnectionState, { type: 'nodeUpdated', node, at: 3 });
    expect(s.node).toBe(node);
    s = connectionReducer(s, { type: 'callFailed', failure: { method: 'peers.list', code: 'timeout', message: 'slow', at: 4 } });
    expect(s.lastFailure?.code).toBe('timeout');
    s = connectionReducer(s, { type: 'failureDismissed' });
    expect(s.lastFailure).toBeUndefined();
    expect(connectionReducer(s, { type: 'failureDismissed' })).toBe(s);
  });
});
