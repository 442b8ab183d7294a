import { describe, expect, it } from 'vitest';
import { LIMITS } from '../ring';
import { pingsReducer } from './reducer';
import { currentPath, latencyStats } from './selectors';
import { initialPingsState, type PingsState } from './state';

const started = (): PingsState => pingsReducer(initialPingsState, { type: 'pingStarted', nodeId: 7, target: 'alpha', run: 1, at: 0 });
const answer = (s: PingsState, seq: number, rttMs: number | undefined, path: 'direct' | 'relay' | 'punched' = 'direct', at = seq * 100): PingsState =>
  pingsReducer(s, { type: 'pingAnswered', nodeId: 7, target: 'alpha', reply: rttMs === undefined ? { seq, error: 'timeout' } : { seq, rttMs, path }, at });

describe('pings reducer', () => {
  it('pingStarted marks the peer as running that run', () => {
    const s = started();
    expect(s.byPeer[7]).toMatchObject({ target: 'alpha', running: 1, lastRun: 1, samples: [] });
  });

  it('pingAnswered appends samples of the running run', () => {
    let s = started();
    s = answer(s, 0, 1.5);
    s = answer(s, 1, undefined);
    expect(s.byPeer[7]?.samples).toEqual([
      { run: 1, seq: 0, at: 0, rttMs: 1.5, path: 'direct' },
      { run: 1, seq: 1, at: 100, error: 'timeout' },
    ]);
  });

  it('replies from a ping this page did not start are kept as run 0', () => {
    const s = answer(initialPingsState, 0, 2);
    expect(s.byPeer[7]?.samples[0]?.run).toBe(0);
  });

  it('marks a path change when replies change path, once, even if the event also arrives', () => {
    let s = started();
    s = answer(s, 0, 80, 'relay');
    s = answer(s, 1, 20, 'punched', 150);
    s = pingsReducer(s, { type: 'pathChanged', nodeId: 7, from: 'relay', to: 'punched', at: 151 });
    s = answer(s, 2, 19, 'punched', 250);
    const marks = s.byPeer[7]?.marks ?? [];
    expect(marks).toEqual([
      { at: 0, to: 'relay' },
      { at: 150, from: 'relay', to: 'punched' },
    ]);
    expect(currentPath(s.byPeer[7])).toBe('punched');
  });

  it('a pathChanged event before any reply is recorded as a change', () => {
    let s = started();
    s = pingsReducer(s, { type: 'pathChanged', nodeId: 7, from: 'relay', to: 'direct', at: 5 });
    expect(s.byPeer[7]?.marks).toEqual([{ at: 5, from: 'relay', to: 'direct' }]);
  });

  it('pingFinished ends the run and adds nothing: replies arrive as events only', () => {
    let s = started();
    s = answer(s, 0, 1);
    s = answer(s, 1, 2);
    s = pingsReducer(s, { type: 'pingFinished', nodeId: 7, run: 1, at: 500 });
    expect(s.byPeer[7]?.samples.map((x) => x.seq)).toEqual([0, 1]);
    expect(s.byPeer[7]?.running).toBeUndefined();
    expect(pingsReducer(s, { type: 'pingFinished', nodeId: 7, run: 1, at: 600 })).toBe(s);
  });

  it('a finished older run does not stop a newer one', () => {
    let s = started();
    s = pingsReducer(s, { type: 'pingStarted', nodeId: 7, target: 'alpha', run: 2, at: 1 });
    s = pingsReducer(s, { type: 'pingFailed', nodeId: 7, run: 1, message: 'late', at: 2 });
    expect(s.byPeer[7]?.running).toBe(2);
  });

  it('pingFailed records the error and ends the run', () => {
    const s = pingsReducer(started(), { type: 'pingFailed', nodeId: 7, run: 1, message: 'cannot resolve', at: 3 });
    expect(s.byPeer[7]).toMatchObject({ error: 'cannot resolve' });
    expect(s.byPeer[7]?.running).toBeUndefined();
  });

  it('keeps a bounded history per peer', () => {
    let s = started();
    for (let i = 0; i < LIMITS.pingSamples + 50; i++) s = answer(s, i, 1);
    expect(s.byPeer[7]?.samples).toHaveLength(LIMITS.pingSamples);
    expect(s.byPeer[7]?.samples[0]?.seq).toBe(50);
  });

  it('pingsCleared empties samples and marks', () => {
    let s = answer(started(), 0, 1);
    s = pingsReducer(s, { type: 'pingsCleared', nodeId: 7 });
    expect(s.byPeer[7]).toMatchObject({ samples: [], marks: [] });
  });
});

describe('latency stats', () => {
  it('min / median / p99 / loss over samples', () => {
    const samples = [4, 1, 3, undefined, 2].map((rttMs, seq) => (rttMs === undefined ? { run: 1, seq, at: seq } : { run: 1, seq, at: seq, rttMs }));
    expect(latencyStats(samples)).toEqual({ sent: 5, received: 4, lossPct: 20, minMs: 1, medianMs: 2, p99Ms: 4, maxMs: 4, lastMs: 2 });
    expect(latencyStats([])).toEqual({ sent: 0, received: 0, lossPct: 0 });
  });
});
