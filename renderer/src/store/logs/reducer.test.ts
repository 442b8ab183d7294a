import { describe, expect, it } from 'vitest';
import { line } from '../../testing/fixtures';
import { LIMITS } from '../ring';
import { logsReducer, peerOfLine } from './reducer';
import { countByLevel, defaultLogFilter, filterLogs, peersInLogs } from './selectors';
import { initialLogsState } from './state';

describe('logs reducer', () => {
  it('logAppended numbers lines and finds the peer they are about', () => {
    let s = logsReducer(initialLogsState, { type: 'logAppended', line: line('a', { fields: { peer: 7 } }) });
    s = logsReducer(s, { type: 'logAppended', line: line('b') });
    expect(s.entries.map((e) => [e.seq, e.line.msg, e.peer])).toEqual([
      [1, 'a', 7],
      [2, 'b', undefined],
    ]);
  });

  it('logsAppended (a batch of live lines) numbers them on, as logAppended one by one would; bounded', () => {
    let s = logsReducer(initialLogsState, { type: 'logAppended', line: line('a') });
    s = logsReducer(s, { type: 'logsAppended', lines: [line('b', { fields: { peer: 3 } }), line('c')] });
    expect(s.entries.map((e) => [e.seq, e.line.msg, e.peer])).toEqual([
      [1, 'a', undefined],
      [2, 'b', 3],
      [3, 'c', undefined],
    ]);
    expect(logsReducer(s, { type: 'logsAppended', lines: [] })).toBe(s);
    const big = logsReducer(s, { type: 'logsAppended', lines: Array.from({ length: LIMITS.logs + 5 }, (_, i) => line(String(i))) });
    expect(big.entries).toHaveLength(LIMITS.logs);
    expect(big.entries.at(-1)?.seq).toBe(3 + LIMITS.logs + 5);
  });

  it('logsLoaded replaces the ring with the node’s tail and keeps numbering forward', () => {
    let s = logsReducer(initialLogsState, { type: 'logAppended', line: line('old') });
    s = logsReducer(s, { type: 'logsLoaded', lines: [line('x'), line('y')] });
    expect(s.entries.map((e) => [e.seq, e.line.msg])).toEqual([
      [2, 'x'],
      [3, 'y'],
    ]);
  });

  it('is a bounded ring', () => {
    let s = initialLogsState;
    for (let i = 0; i < LIMITS.logs + 3; i++) s = logsReducer(s, { type: 'logAppended', line: line(String(i)) });
    expect(s.entries).toHaveLength(LIMITS.logs);
    expect(s.entries[0]?.line.msg).toBe('3');
  });

  it('peerOfLine reads the usual field names, numeric strings included', () => {
    expect(peerOfLine(line('', { fields: { nodeId: 5 } }))).toBe(5);
    expect(peerOfLine(line('', { fields: { node_id: '12' } }))).toBe(12);
    expect(peerOfLine(line('', { fields: { peer: 'alpha' } }))).toBeUndefined();
    expect(peerOfLine(line('', { fields: { peer: 0 } }))).toBeUndefined();
  });
});

describe('log selectors', () => {
  let s = initialLogsState;
  for (const l of [line('dial ok', { level: 'info', fields: { peer: 1 } }), line('bad tag', { level: 'error', fields: { peer: 2, reason: 'bad_tag' } }), line('tick', { level: 'trace' }), line('punch retry', { level: 'warn', fields: { peer: 1 } })])
    s = logsReducer(s, { type: 'logAppended', line: l });

  it('filters by minimum level, peer and text over message and fields', () => {
    expect(filterLogs(s.entries, { ...defaultLogFilter, minLevel: 'warn' }).map((e) => e.line.msg)).toEqual(['bad tag', 'punch retry']);
    expect(filterLogs(s.entries, { ...defaultLogFilter, peer: 1 }).map((e) => e.line.msg)).toEqual(['dial ok', 'punch retry']);
    expect(filterLogs(s.entries, { ...defaultLogFilter, text: 'BAD_TAG' }).map((e) => e.line.msg)).toEqual(['bad tag']);
    expect(filterLogs(s.entries, { minLevel: 'trace', text: '' })).toHaveLength(4);
  });

  it('counts levels and lists peers', () => {
    expect(countByLevel(s.entries)).toEqual({ trace: 1, debug: 0, info: 1, warn: 1, error: 1 });
    expect(peersInLogs(s.entries)).toEqual([1, 2]);
  });
});
