import { describe, expect, it } from 'vitest';
import type { NetcheckView } from '../../../../shared/contract';
import { initialRootState, rootReducer } from '../root';
import { netcheckReducer } from './reducer';
import { REACH_PATH, natExplanation, natReach, netcheckStatus, selectNetcheck } from './selectors';
import { initialNetcheckState, type NetcheckState } from './state';

const report = (over: Partial<NetcheckView> = {}): NetcheckView => ({
  tunnelLocal: '127.0.0.1:40001',
  beacon: '127.0.0.1:9001',
  netcheckServer: '127.0.0.1:9002',
  publicEndpoint: '127.0.0.1:40001',
  publicEndpointAlt: '127.0.0.1:40001',
  portPreserved: true,
  mapping: 'endpoint-independent',
  natType: 'none',
  hint: 'public address: peers can reach this node directly',
  ...over,
});

const started = (run = 1, at = 100): NetcheckState => netcheckReducer(initialNetcheckState, { type: 'netcheckStarted', run, at });

describe('netcheck reducer', () => {
  it('a run goes idle -> running -> ok, keeping the report and when it came', () => {
    expect(netcheckStatus(initialNetcheckState)).toBe('idle');
    let s = started(1, 100);
    expect(s).toMatchObject({ running: 1, lastRun: 1, startedAt: 100 });
    expect(netcheckStatus(s)).toBe('running');
    const r = report();
    s = netcheckReducer(s, { type: 'netcheckFinished', run: 1, report: r, at: 130 });
    expect(s.report).toBe(r);
    expect(s).toMatchObject({ reportAt: 130, finishedAt: 130 });
    expect(s.running).toBeUndefined();
    expect(netcheckStatus(s)).toBe('ok');
  });

  it('a failure keeps the code and hint, ends the run, and leaves the previous report in place', () => {
    const r = report();
    let s = netcheckReducer(started(1, 100), { type: 'netcheckFinished', run: 1, report: r, at: 110 });
    s = netcheckReducer(s, { type: 'netcheckStarted', run: 2, at: 200 });
    s = netcheckReducer(s, { type: 'netcheckFailed', run: 2, error: { code: 'invalid_state', message: 'no beacon configured', hint: 'start the daemon with --beacon' }, at: 250 });
    expect(netcheckStatus(s)).toBe('failed');
    expect(s.error).toEqual({ code: 'invalid_state', message: 'no beacon configured', hint: 'start the daemon with --beacon' });
    expect(s.running).toBeUndefined();
    expect(s.finishedAt).toBe(250);
    expect(s.report).toBe(r);
    expect(s.reportAt).toBe(110);
  });

  it('starting a run clears the last error; a later success clears it too', () => {
    let s = netcheckReducer(started(1), { type: 'netcheckFailed', run: 1, error: { code: 'timeout', message: 'slow' }, at: 5 });
    s = netcheckReducer(s, { type: 'netcheckStarted', run: 2, at: 6 });
    expect(s.error).toBeUndefined();
    expect(netcheckStatus(s)).toBe('running');
    s = netcheckReducer(s, { type: 'netcheckFinished', run: 2, report: report(), at: 7 });
    expect(netcheckStatus(s)).toBe('ok');
  });

  it('an older run answering after a newer one started changes nothing', () => {
    const s = netcheckReducer(started(1), { type: 'netcheckStarted', run: 2, at: 150 });
    expect(netcheckReducer(s, { type: 'netcheckFinished', run: 1, report: report(), at: 160 })).toBe(s);
    expect(netcheckReducer(s, { type: 'netcheckFailed', run: 1, error: { code: 'timeout', message: 'late' }, at: 160 })).toBe(s);
    expect(s.running).toBe(2);
  });

  it('ignores actions of other slices, and the root store carries the slice', () => {
    const s = started();
    expect(netcheckReducer(s, { type: 'failureDismissed' })).toBe(s);
    const root = rootReducer(initialRootState, { type: 'netcheckStarted', run: 3, at: 1 });
    expect(selectNetcheck(root).running).toBe(3);
    expect(root.peers).toBe(initialRootState.peers);
  });
});

describe('netcheck selectors', () => {
  it('maps each NAT type to how peers reach the node, coloured like that peer path', () => {
    expect(natReach('none')).toBe('direct');
    expect(natReach('port-preserving')).toBe('hole punching');
    expect(natReach('cone')).toBe('hole punching');
    expect(natReach('symmetric')).toBe('relay');
    expect(natReach('unknown')).toBe('unknown');
    expect(REACH_PATH).toEqual({ direct: 'direct', 'hole punching': 'punched', relay: 'relay', unknown: 'pending' });
  });

  it('explains each NAT type in one line that names direct, hole punching or relay', () => {
    expect(natExplanation(report())).toMatch(/directly/);
    expect(natExplanation(report({ natType: 'port-preserving' }))).toMatch(/hole punching/);
    expect(natExplanation(report({ natType: 'cone', portPreserved: false }))).toMatch(/hole punching/);
    expect(natExplanation(report({ natType: 'symmetric', mapping: 'endpoint-dependent' }))).toMatch(/relay/);
    for (const natType of ['none', 'port-preserving', 'cone', 'symmetric', 'unknown'] as const) expect(natExplanation(report({ natType }))).not.toContain('\n');
  });

  it('tells an unanswered beacon apart from an unmeasured mapping', () => {
    const { publicEndpoint: _p, publicEndpointAlt: _a, portPreserved: _pp, ...noBeacon } = report({ natType: 'unknown', mapping: 'unknown' });
    expect(natExplanation(noBeacon)).toMatch(/beacon did not answer/);
    const { publicEndpointAlt: _b, ...noAlt } = report({ natType: 'unknown', mapping: 'unknown', publicEndpoint: '198.51.100.4:61000' });
    expect(natExplanation(noAlt)).toMatch(/could not be measured.*relay/);
  });
});
