import { describe, expect, it } from 'vitest';
import type { FleetMatrixView, FleetPairView } from '../../../../shared/contract';
import { initialRootState, rootReducer } from '../root';
import { fleetReducer } from './reducer';
import { forText, gridOf, pairRows } from './selectors';
import { initialFleetState, pairKey, probeKey, whyKey } from './state';
import { timelineOf } from './timeline';

const pair = (a: number, b: number, path: FleetPairView['path'], o: Partial<FleetPairView> = {}): FleetPairView => ({ a, b, path, changes: 0, flaps: 0, ...o });
const matrix = (takenAt: number, pairs: FleetPairView[]): FleetMatrixView => ({
  takenAt,
  members: [
    { nodeId: 1, address: '0:0000.0000.0001', hostname: 'console', self: true, answered: true, groups: [] },
    { nodeId: 2, address: '0:0000.0000.0002', hostname: 'papers', self: false, answered: true, groups: ['research'] },
    { nodeId: 3, address: '0:0000.0000.0003', hostname: 'fx', self: false, answered: true, groups: ['trading'] },
  ],
  pairs,
  aggregated: false,
  groups: [],
  census: { pairs: pairs.length, counts: { local: 0, direct: 2, punched: 0, relay: 1, pending: 0, none: 0, unknown: 0 }, shares: { local: 0, direct: 2 / 3, punched: 0, relay: 1 / 3, pending: 0 } },
});

describe('fleet slice', () => {
  it('keeps the newest matrix: a sweep older than the one shown is ignored; a failure keeps the matrix', () => {
    const m2 = matrix(2000, [pair(1, 2, 'direct')]);
    let s = fleetReducer(initialFleetState, { type: 'fleetMatrixRequested', at: 1 });
    expect(s.loading).toBe(true);
    s = fleetReducer(s, { type: 'fleetMatrixReceived', matrix: m2, at: 5 });
    expect(s).toMatchObject({ loading: false, matrixAt: 5 });
    s = fleetReducer(s, { type: 'fleetMatrixReceived', matrix: matrix(1000, []), at: 6 });
    expect(s.matrix).toBe(m2);
    s = fleetReducer(s, { type: 'fleetMatrixFailed', error: { code: 'timeout', message: 'slow' }, at: 7 });
    expect(s.matrix).toBe(m2);
    expect(s.error?.code).toBe('timeout');
  });

  it('tracks probes per direction and why-stories per peer, bounded', () => {
    let s = fleetReducer(initialFleetState, { type: 'fleetProbeStarted', from: 2, to: 3, at: 1 });
    expect(s.probes[probeKey(2, 3)]).toEqual({ status: 'running', at: 1 });
    s = fleetReducer(s, { type: 'fleetProbeAnswered', from: 2, to: 3, at: 2, result: { from: 2, to: 3, rtts: [0.3], errors: [], stats: { sent: 1, received: 1, medianMs: 0.3 } } });
    expect(s.probes[probeKey(2, 3)]).toMatchObject({ status: 'done' });
    expect(s.probes[probeKey(3, 2)]).toBeUndefined();
    for (let i = 1; i <= 60; i++) s = fleetReducer(s, { type: 'whyRequested', key: whyKey(i), at: i });
    expect(Object.keys(s.why)).toHaveLength(50);
    expect(s.why[whyKey(1)]).toBeUndefined();
    expect(s.why[whyKey(60)]).toEqual({ status: 'running', at: 60 });
    s = fleetReducer(s, { type: 'whyRequested', key: whyKey(3, 2), at: 61 });
    expect(s.why['2>3']).toBeDefined();
    expect(s.why['3']).toBeUndefined();
    s = fleetReducer(s, { type: 'fleetPairSelected', a: 3, b: 2 });
    expect(s.selected).toEqual({ a: 2, b: 3 });
    s = fleetReducer(s, { type: 'fleetHistoryReceived', history: { a: 2, b: 3, windowMs: 3_600_000, samples: [], changes: [] } });
    expect(s.histories[pairKey(3, 2)]).toBeDefined();
  });

  it('rows: relayed pairs first, filtered by member name and path; the grid finds a pair from either side', () => {
    const m = matrix(1, [pair(1, 2, 'direct'), pair(1, 3, 'direct'), pair(2, 3, 'relay', { rttMs: 9 })]);
    expect(pairRows(m).map((r) => `${r.nameA}-${r.nameB}:${r.path}`)).toEqual(['papers-fx:relay', 'console-fx:direct', 'console-papers:direct']);
    expect(pairRows(m, { text: 'FX', path: 'direct' }).map((r) => r.b)).toEqual([3]);
    const g = gridOf(m);
    expect(g.cell(3, 2)?.path).toBe('relay');
    expect(g.cell(2, 2)).toBeUndefined();
    expect(forText(undefined, 0)).toBe('—');
    expect(forText(0, 125_000)).toBe('2 min');
  });

  it('timeline: merges consecutive samples on one path into segments and keeps the RTT points', () => {
    const t = timelineOf(
      {
        a: 1,
        b: 2,
        windowMs: 60_000,
        samples: [
          { t: 10_000, path: 'relay', rttMs: 9 },
          { t: 20_000, path: 'relay', rttMs: 8 },
          { t: 30_000, path: 'punched', rttMs: 1 },
        ],
        changes: [{ t: 30_000, from: 'relay', to: 'punched', flap: false }],
      },
      40_000,
    );
    expect(t.segments).toEqual([
      { from: 10_000, to: 30_000, path: 'relay' },
      { from: 30_000, to: 40_000, path: 'punched' },
    ]);
    expect(t.maxRtt).toBe(9);
    expect(t.rtt).toHaveLength(3);
  });

  it('the root store carries the slice', () => {
    const s = rootReducer(initialRootState, { type: 'fleetMatrixRequested', at: 1 });
    expect(s.fleet.loading).toBe(true);
  });
});
