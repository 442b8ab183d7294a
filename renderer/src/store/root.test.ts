import { afterEach, describe, expect, it } from 'vitest';
import { peer } from '../testing/fixtures';
import { peerSeen } from './peers/actions';
import { dispatch, flushDispatch, getState, initialRootState, resetStore, rootReducer, setDispatchScheduler, useStore } from './root';

afterEach(() => {
  setDispatchScheduler(undefined);
  resetStore();
});

describe('root store', () => {
  it('returns the same state for an action no slice handles', () => {
    expect(rootReducer(initialRootState, { type: 'failureDismissed' })).toBe(initialRootState);
  });

  it('module-level actions update the store at once without a scheduler', () => {
    peerSeen(peer(3), 10);
    expect(getState().peers.byId[3]?.hostname).toBe('host-3');
  });

  it('with a scheduler, a burst of actions is applied in one store update', () => {
    let pending: (() => void) | undefined;
    setDispatchScheduler((f) => (pending = f));
    let notified = 0;
    const unsub = useStore.subscribe(() => notified++);
    for (let i = 1; i <= 100; i++) peerSeen(peer(i), i);
    dispatch({ type: 'logAppended', line: { t: '', level: 'info', msg: 'x', fields: {} } });
    expect(getState().peers.byId[1]).toBeUndefined();
    pending?.();
    expect(Object.keys(getState().peers.byId)).toHaveLength(100);
    expect(getState().logs.entries).toHaveLength(1);
    expect(notified).toBe(1);
    unsub();
  });

  it('flushDispatch applies queued actions early', () => {
    setDispatchScheduler(() => undefined);
    peerSeen(peer(1), 1);
    flushDispatch();
    expect(getState().peers.byId[1]).toBeDefined();
  });
});
