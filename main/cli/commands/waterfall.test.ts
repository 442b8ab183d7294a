import { describe, it, expect } from 'vitest';
import type { CollectedTrace, SpanView } from '../../../shared/contract';
import { layoutWaterfall } from '../../../shared/waterfall';
import { renderWaterfall } from './waterfall';
import { formatLogLine } from './observe';

const T = 'ab';
const s = (spanId: string, lane: string, adjustedStartMs: number, durationMs: number, parentId?: string, status: SpanView['status'] = 'ok') => ({
  traceId: T, spanId, name: `op-${spanId}`, node: lane, startMs: adjustedStartMs + 1000, durationMs, status, attrs: {}, lane, adjustedStartMs, ...(parentId ? { parentId } : {}),
});

const trace: CollectedTrace = {
  traceId: T,
  nodes: [
    { address: 'A', nodeId: 1, hostname: 'alpha', self: true, offsetMs: 0, spans: 2 },
    { address: 'B', nodeId: 2, self: false, offsetMs: 1000, rttMs: 0.5, spans: 1 },
    { address: 'C', nodeId: 3, self: false, offsetMs: 0, spans: 0, error: 'trace query refused by C' },
  ],
  spans: [s('r', 'A', 100, 40), s('k', 'A', 110, 10, 'r'), s('b', 'B', 120, 20, 'r', 'error')],
};

describe('waterfall', () => {
  it('lays out lanes per node in tree order with depths and starts relative to the first span', () => {
    const w = layoutWaterfall(trace);
    expect(w.totalMs).toBe(40);
    expect(w.lanes.map((l) => [l.label, l.rows.map((r) => [r.span.spanId, r.depth, r.startMs, r.endMs])])).toEqual([
      ['alpha (A)', [['r', 0, 0, 40], ['k', 1, 10, 20]]],
      ['B', [['b', 0, 20, 40]]],
      ['C', []],
    ]);
  });

  it('renders bars on a common scale with the offsets and errors of each lane', () => {
    const text = renderWaterfall(trace, 8);
    expect(text.split('\n')).toEqual([
      'Trace ab · 3 nodes · 3 spans · 40.0 ms',
      '',
      'alpha (A) — this node',
      '  op-r             |████████| +0.00 ms 40.0 ms',
      '    op-k           |  ██    | +10.0 ms 10.0 ms',
      '',
      'B — offset +1.00 s · rtt 0.50 ms',
      '  op-b             |    ✗✗✗✗| +20.0 ms 20.0 ms error',
      '',
      'C — offset +0.00 ms · no spans: trace query refused by C',
    ]);
  });

  it('formats a log line with time, level, component and fields', () => {
    expect(formatLogLine({ t: '2026-12-03T01:02:03.456Z', level: 'warn', msg: 'trust request', fields: { component: 'services', peer: 7, trace_id: 'ab', pid: 9, why: 'a b' } })).toBe(
      '01:02:03.456 WARN  [services] trust request peer=7 trace_id=ab why="a b"',
    );
  });
});
