import { describe, expect, it } from 'vitest';
import { PACING_BURST_MS, Pacer } from './pacing';

const SEG = 1000;

describe('Pacer', () => {
  it('without a rate (Infinity) everything may go', () => {
    const p = new Pacer(SEG);
    for (let i = 0; i < 100; i++) p.sent(SEG, 0, Infinity);
    expect(p.ready(0, Infinity)).toBe(true);
  });

  it('after a burst credit of max(2 segments, 1 ms of rate), one segment per segment-time at the rate', () => {
    const p = new Pacer(SEG);
    const rate = 5 * SEG; // bytes per ms: the credit is 5 segments (1 ms)
    let n = 0;
    while (p.ready(0, rate)) {
      p.sent(SEG, 0, rate);
      n++;
    }
    expect(n).toBe(5 * PACING_BURST_MS + 1); // the credit, and the segment that starts it running out
    expect(p.nextAt).toBeCloseTo(0.2);
    expect(p.ready(0.19, rate)).toBe(false);
    expect(p.ready(0.2, rate)).toBe(true);
    p.sent(SEG, 0.2, rate);
    expect(p.nextAt).toBeCloseTo(0.4);
  });

  it('a late timer catches up with at most the credit, not with everything it missed', () => {
    const p = new Pacer(SEG);
    const rate = SEG; // 1 segment per ms; credit 2 segments
    p.sent(SEG, 0, rate);
    let n = 0;
    while (p.ready(100, rate)) {
      p.sent(SEG, 100, rate);
      n++;
    }
    expect(n).toBe(3);
    p.reset();
    expect(p.ready(0, rate)).toBe(true);
  });
});
