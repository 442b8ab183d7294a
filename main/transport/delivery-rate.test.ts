import { describe, expect, it } from 'vitest';
import { RateSampler, type RateSnapshot } from './delivery-rate';

const SEG = 1000;
const segment = (): RateSnapshot => ({ sentAt: 0, dlv: 0, dlvAt: 0, firstAt: 0, appLimited: false, payload: new Uint8Array(SEG) });

function send(r: RateSampler, now: number, first = false): RateSnapshot {
  const s = segment();
  s.sentAt = now;
  r.onSend(s, now, first);
  return s;
}

function deliver(r: RateSampler, segs: RateSnapshot[], now: number, minRtt = Infinity) {
  r.beginAck();
  for (const s of segs) r.onDelivered(s, now);
  return { ...r.endAck(minRtt) };
}

describe('RateSampler', () => {
  it('a flight sent over 10 ms and acknowledged over 10 ms, one RTT (40 ms) later: 1 segment per ms', () => {
    const r = new RateSampler();
    const flight = [send(r, 0, true)];
    for (let t = 1; t < 10; t++) flight.push(send(r, t));
    const first = deliver(r, [flight[0]!], 40);
    expect(first.valid).toBe(true);
    expect([first.delivered, first.interval, first.acked]).toEqual([SEG, 40, SEG]);
    // the 10th: 10 segments since the 1st was sent (delivered at 40 .. 49), over 49 - 0 (ack interval)
    let last = first;
    for (let i = 1; i < 10; i++) last = deliver(r, [flight[i]!], 40 + i);
    expect(last.delivered).toBe(10 * SEG);
    expect(last.interval).toBe(49);
    // a second flight, sent as the ACKs came back: the rate of the path once the pipe is full
    const second: RateSnapshot[] = [];
    for (let t = 40; t < 50; t++) second.push(send(r, t));
    let rs = last;
    for (let i = 0; i < 10; i++) rs = deliver(r, [second[i]!], 80 + i);
    expect(rs.delivered).toBe(10 * SEG); // delivered between the 10th of the first flight and now
    expect(rs.rate).toBeCloseTo((10 * SEG) / 40);
    expect(rs.totalDelivered).toBe(20 * SEG);
  });

  it('uses the most recently sent segment an ACK delivers; no segment, no sample', () => {
    const r = new RateSampler();
    const a = send(r, 0, true);
    const b = send(r, 5);
    const rs = deliver(r, [b, a], 45);
    expect(rs.priorDelivered).toBe(0);
    expect(rs.acked).toBe(2 * SEG);
    expect(rs.interval).toBe(45);
    expect(deliver(r, [], 50)).toMatchObject({ valid: false, priorDelivered: -1, acked: 0 });
  });

  it('an interval shorter than the min RTT gives no rate (ACK compression)', () => {
    const r = new RateSampler();
    const a = send(r, 0, true);
    expect(deliver(r, [a], 10, 40).valid).toBe(false);
  });

  it('app-limited: segments sent while the sender had nothing more are marked until that data is delivered', () => {
    const r = new RateSampler();
    const a = send(r, 0, true);
    r.markAppLimited(SEG); // a is all there is
    const b = send(r, 1);
    expect([a.appLimited, b.appLimited]).toEqual([false, true]);
    expect(deliver(r, [a], 40).appLimited).toBe(false);
    expect(deliver(r, [b], 41).appLimited).toBe(true);
    const c = send(r, 42); // delivered (2 SEG) passed the mark (SEG): no longer limited
    expect(c.appLimited).toBe(false);
  });
});
