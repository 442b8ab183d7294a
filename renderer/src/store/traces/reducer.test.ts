import { describe, expect, it } from 'vitest';
import { span } from '../../testing/fixtures';
import { LIMITS } from '../ring';
import { tracesReducer } from './reducer';
import { buildWaterfall, summarizeTraces } from './selectors';
import { COLLECTED_LIMIT, initialTracesState } from './state';

describe('traces reducer', () => {
  it('spanEnded appends; the same span again replaces it', () => {
    let s = tracesReducer(initialTracesState, { type: 'spanEnded', span: span('a') });
    s = tracesReducer(s, { type: 'spanEnded', span: span('b') });
    s = tracesReducer(s, { type: 'spanEnded', span: span('a', { durationMs: 9 }) });
    expect(s.spans.map((x) => [x.spanId, x.durationMs])).toEqual([
      ['a', 9],
      ['b', 1],
    ]);
  });

  it('spansEnded (a batch of live spans) appends the new ones in order and replaces the known ones, as spanEnded one by one would', () => {
    let s = tracesReducer(initialTracesState, { type: 'spanEnded', span: span('a') });
    s = tracesReducer(s, { type: 'spansEnded', spans: [span('b'), span('a', { durationMs: 9 }), span('c'), span('b', { durationMs: 4 })] });
    expect(s.spans.map((x) => [x.spanId, x.durationMs])).toEqual([
      ['a', 9],
      ['b', 4],
      ['c', 1],
    ]);
    expect(tracesReducer(s, { type: 'spansEnded', spans: [] })).toBe(s);
  });

  it('spansLoaded merges (spans from other agents slot in) and de-duplicates within the batch', () => {
    let s = tracesReducer(initialTracesState, { type: 'spanEnded', span: span('root') });
    s = tracesReducer(s, { type: 'spansLoaded', spans: [span('remote', { parentId: 'root', node: 'b', startMs: 2 }), span('root'), span('remote', { parentId: 'root', node: 'b', startMs: 2, durationMs: 3 })], at: 1 });
    expect(s.spans.map((x) => x.spanId)).toEqual(['root', 'remote']);
    expect(s.spans[1]?.durationMs).toBe(3);
  });

  it('holds a bounded number of spans', () => {
    let s = initialTracesState;
    for (let i = 0; i < LIMITS.spans + 5; i++) s = tracesReducer(s, { type: 'spanEnded', span: span(`s${i}`) });
    expect(s.spans).toHaveLength(LIMITS.spans);
    expect(s.spans[0]?.spanId).toBe('s5');
  });
});

describe('trace selectors', () => {
  const spans = [
    span('dial', { traceId: 'T', startMs: 100, durationMs: 50, name: 'dial' }),
    span('resolve', { traceId: 'T', parentId: 'dial', startMs: 100, durationMs: 5, name: 'resolve' }),
    span('kx', { traceId: 'T', parentId: 'dial', startMs: 110, durationMs: 10, name: 'key_exchange' }),
    span('accept', { traceId: 'T', parentId: 'kx', startMs: 112, durationMs: 4, node: 'b', name: 'accept' }),
    span('orphan', { traceId: 'T', parentId: 'elsewhere', startMs: 160, durationMs: 5, node: 'c', status: 'error' }),
    span('other', { traceId: 'U', startMs: 500, durationMs: 1, name: 'ping' }),
  ];

  it('summarizes traces newest first with their root span’s name', () => {
    const t = summarizeTraces(spans);
    expect(t.map((x) => x.traceId)).toEqual(['U', 'T']);
    expect(t[1]).toEqual({ traceId: 'T', name: 'dial', startMs: 100, durationMs: 65, spanCount: 5, nodes: ['a', 'b', 'c'], status: 'error' });
  });

  it('builds a depth-first waterfall with offsets from the trace start', () => {
    const w = buildWaterfall(spans, 'T');
    expect(w?.rows.map((r) => [r.span.spanId, r.depth, r.offsetMs])).toEqual([
      ['dial', 0, 0],
      ['resolve', 1, 0],
      ['kx', 1, 10],
      ['accept', 2, 12],
      ['orphan', 0, 60], // its parent lives on another agent and has not arrived
    ]);
    expect(w?.durationMs).toBe(65);
    expect(buildWaterfall(spans, 'nope')).toBeUndefined();
  });
});

describe('collected traces', () => {
  const trace = (traceId: string) => ({ traceId, nodes: [{ address: 'A', nodeId: 1, self: true, offsetMs: 0, spans: 1 }], spans: [{ ...span('x', { traceId }), lane: 'A', adjustedStartMs: 0 }] });

  it('collectStarted → collected → a failed retry keeps the last trace with the error', () => {
    let s = tracesReducer(initialTracesState, { type: 'traceCollectStarted', traceId: 'T', at: 1 });
    expect(s.collected['T']).toEqual({ traceId: 'T', status: 'collecting', at: 1 });
    s = tracesReducer(s, { type: 'traceCollected', trace: trace('T'), at: 2 });
    expect(s.collected['T']).toMatchObject({ status: 'done', trace: { traceId: 'T' } });
    s = tracesReducer(s, { type: 'traceCollectStarted', traceId: 'T', at: 3 });
    expect(s.collected['T']).toMatchObject({ status: 'collecting', trace: { traceId: 'T' } });
    s = tracesReducer(s, { type: 'traceCollectFailed', traceId: 'T', error: 'timeout', at: 4 });
    expect(s.collected['T']).toMatchObject({ status: 'failed', error: 'timeout', trace: { traceId: 'T' } });
  });

  it('keeps the most recent COLLECTED_LIMIT traces', () => {
    let s = initialTracesState;
    for (let i = 0; i < COLLECTED_LIMIT + 3; i++) s = tracesReducer(s, { type: 'traceCollected', trace: trace(`t${i}`), at: i });
    expect(Object.keys(s.collected)).toHaveLength(COLLECTED_LIMIT);
    expect(s.collected['t0']).toBeUndefined();
    expect(s.collected[`t${COLLECTED_LIMIT + 2}`]).toBeDefined();
  });
});
