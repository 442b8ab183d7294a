import { afterEach, describe, expect, it } from 'vitest';
import { line, peer, span } from '../testing/fixtures';
import { peerSeen } from './peers/actions';
import type { RootAction } from './actions';
import { dispatch, flushDispatch, foldLiveActions, getState, initialRootState, resetStore, rootReducer, setDispatchScheduler, useStore } from './root';

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

  it('a batch folds its live spans and log lines into one action each; a snapshot load starts a new fold; the state is what one action at a time gives', () => {
    const batch: RootAction[] = [
      { type: 'spanEnded', span: span('a') },
      { type: 'logAppended', line: line('1') },
      { type: 'peerSeen', peer: peer(2), at: 5 },
      { type: 'spanEnded', span: span('b') },
      { type: 'logAppended', line: line('2') },
      { type: 'logsLoaded', lines: [line('tail')] },
      { type: 'logAppended', line: line('3') },
      { type: 'spanEnded', span: span('a', { durationMs: 7 }) },
    ];
    const folded = foldLiveActions(batch);
    expect(folded.map((a) => a.type)).toEqual(['spansEnded', 'logsAppended', 'peerSeen', 'logsLoaded', 'logsAppended']);
    expect(folded[0]).toMatchObject({ spans: [{ spanId: 'a' }, { spanId: 'b' }, { spanId: 'a', durationMs: 7 }] });
    expect(folded[1]).toMatchObject({ lines: [{ msg: '1' }, { msg: '2' }] });
    expect(folded[4]).toMatchObject({ lines: [{ msg: '3' }] });
    const oneByOne = batch.reduce(rootReducer, initialRootState);
    const once = folded.reduce(rootReducer, initialRootState);
    expect(once.traces.spans).toEqual(oneByOne.traces.spans);
    expect(once.logs).toEqual(oneByOne.logs);
    expect(once.peers).toEqual(oneByOne.peers);
  });

  it('flushDispatch applies queued actions early', () => {
    setDispatchScheduler(() => undefined);
    peerSeen(peer(1), 1);
    flushDispatch();
    expect(getState().peers.byId[1]).toBeDefined();
  });
});
