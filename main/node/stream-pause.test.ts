// PilotStream.pause/resume (flow control for a reader that cannot keep up): held chunks keep their
// window slots (no consumed() until handed out), come out in order, and a close waits behind them.
import { describe, expect, it } from 'vitest';
import { backboneAddress } from '../../shared/address';
import type { StreamConnection } from '../transport';
import { PilotStream, type StreamDriver } from './stream';

function stream(): { s: PilotStream; consumed: number[]; got: string[]; closes: string[] } {
  const consumed: number[] = [];
  const conn = { id: 1, remoteAddr: backboneAddress(2), remotePort: 7, consumed: (n: number) => consumed.push(n) } as unknown as StreamConnection;
  const driver: StreamDriver = { write: (_c, d) => d.length, end: () => undefined, abort: () => undefined };
  const s = new PilotStream(conn, driver);
  const got: string[] = [];
  const closes: string[] = [];
  s.on('data', (c) => got.push(Buffer.from(c).toString()));
  s.on('close', (reason) => closes.push(reason));
  return { s, consumed, got, closes };
}

const b = (t: string): Uint8Array => Buffer.from(t);

describe('PilotStream pause/resume', () => {
  it('holds chunks while paused without consuming their slots, then hands them out in order', () => {
    const { s, consumed, got } = stream();
    s.deliver(b('a'));
    expect([got, consumed.length]).toEqual([['a'], 1]);
    s.pause();
    s.deliver(b('b'));
    s.deliver(b('c'));
    expect([got, consumed.length]).toEqual([['a'], 1]);
    s.resume();
    expect([got, consumed.length]).toEqual([['a', 'b', 'c'], 3]);
  });

  it('a close waits behind the held data; a data handler that pauses again stops the flush', () => {
    const { s, got, closes } = stream();
    s.pause();
    s.deliver(b('x'));
    s.deliver(b('y'));
    s.finished('fin', 0);
    expect(s.closed).toBe(false);
    expect(() => s.write(b('late'))).toThrow(/closed/);
    s.once('data', () => s.pause()); // the reader fills up again after one chunk
    s.resume();
    expect([got, closes]).toEqual([['x'], []]);
    s.resume();
    expect([got, closes]).toEqual([['x', 'y'], ['fin']]);
    expect(s.closed).toBe(true);
  });

  it('an abort drops what is held', () => {
    const { s, got, closes } = stream();
    s.pause();
    s.deliver(b('x'));
    s.finished('aborted', 0);
    expect([got, closes]).toEqual([[], ['aborted']]);
    s.resume();
    expect(got).toEqual([]);
  });
});
