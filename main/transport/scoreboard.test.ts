import { describe, expect, it } from 'vitest';
import { makeTransportConfig } from './config';
import { RateSampler } from './delivery-rate';
import { Rack } from './rack';
import { RttEstimator } from './rtt';
import { Scoreboard } from './scoreboard';

const SEG = 100;
const cfg = makeTransportConfig();

/** A scoreboard with `n` segments of SEG bytes sent at t = 0, 1, 2, … from seq 1. */
function board(n: number): { sb: Scoreboard; rack: Rack; rtt: RttEstimator; seq: (i: number) => number } {
  const rtt = new RttEstimator(cfg);
  const rack = new Rack(cfg, SEG, rtt);
  const sb = new Scoreboard(rack, new RateSampler());
  const seq = (i: number): number => 1 + i * SEG;
  for (let i = 0; i < n; i++) sb.add(seq(i), seq(i + 1), new Uint8Array(SEG), i);
  sb.highSack = 1;
  return { sb, rack, rtt, seq };
}

describe('Scoreboard', () => {
  it('tracks pipe through SACK, loss marks, retransmission and cumulative ACKs', () => {
    const { sb, seq } = board(6);
    expect([sb.size, sb.pipe, sb.unackedBytes]).toEqual([6, 6 * SEG, 6 * SEG]);
    expect(sb.sack([{ left: seq(2), right: seq(4) }], 1, seq(6), 10)).toBe(true);
    expect(sb.sack([{ left: seq(2), right: seq(4) }], 1, seq(6), 10)).toBe(false); // nothing new
    expect([sb.sackedCount, sb.pipe, sb.highSack]).toEqual([2, 4 * SEG, seq(4)]);
    const first = sb.firstUnsacked()!;
    sb.markLost(first);
    expect([sb.lostCount, sb.pipe, sb.lostMarked]).toEqual([1, 3 * SEG, 1]);
    expect(sb.nextLost(1)).toBe(first);
    sb.resent(first, 20);
    expect([sb.lostCount, sb.pipe, sb.retxOutstanding, first.attempts, first.sentAt]).toEqual([0, 4 * SEG, 1, 2, 20]);
    sb.ackTo(seq(4), 30); // covers the retransmission and the SACKed segments
    expect([sb.size, sb.sackedCount, sb.retxOutstanding, sb.pipe, sb.unackedBytes]).toEqual([2, 0, 0, 2 * SEG, 2 * SEG]);
    sb.ackTo(seq(6), 31);
    expect([sb.size, sb.pipe, sb.unackedBytes, sb.highSack]).toEqual([0, 0, 0, seq(6)]);
  });

  it('clamps SACK blocks to the outstanding range and ignores empty ones', () => {
    const { sb, seq } = board(4);
    sb.sack(
      [
        { left: seq(3), right: seq(3) },
        { left: 0, right: seq(1) },
        { left: seq(3), right: seq(9) },
      ],
      seq(0),
      seq(4),
      5,
    );
    expect(sb.q.slice(sb.head).map((s) => s!.sacked)).toEqual([true, false, false, true]);
  });

  it('RTO marks every segment neither SACKed nor lost; nextLost returns them lowest first', () => {
    const { sb, seq } = board(5);
    sb.sack([{ left: seq(1), right: seq(2) }], 1, seq(5), 5);
    sb.markAllLost();
    expect([sb.lostCount, sb.pipe]).toEqual([4, 0]);
    const order: number[] = [];
    for (let s = sb.nextLost(1); s !== undefined; s = sb.nextLost(1)) {
      order.push(s.seq);
      sb.resent(s, 6);
    }
    expect(order).toEqual([seq(0), seq(2), seq(3), seq(4)]);
  });
});

describe('Rack', () => {
  it('three segments SACKed above a hole make it lost (RFC 6675 threshold)', () => {
    const { sb, rack, seq } = board(5);
    rack.beginAck();
    // RTT 18: by time, segment 0 (sent at 0) is overdue only at 0 + 18 + 18/4 = 22.5
    sb.sack([{ left: seq(1), right: seq(3) }], 1, seq(5), 20);
    rack.endAck(true);
    expect(rack.detect(sb, 1, false, 20)).toBe(false); // only 2 segments above the hole
    expect(rack.timerAt).toBe(22.5);
    rack.beginAck();
    sb.sack([{ left: seq(3), right: seq(4) }], 1, seq(5), 21);
    rack.endAck(true);
    expect(rack.detect(sb, 1, false, 21)).toBe(true);
    expect(sb.q.slice(sb.head).map((s) => s!.lost)).toEqual([true, false, false, false, false]);
  });

  it('a segment sent before one delivered is lost one RTT (+ reordering window) after it was sent', () => {
    const { sb, rack, rtt, seq } = board(3);
    // the last segment (sent at t=2) is SACKed at t=12: RTT 10
    rack.beginAck();
    sb.sack([{ left: seq(2), right: seq(3) }], 1, seq(3), 12);
    rack.endAck(true);
    expect([rtt.hasRtt, rtt.srtt, rack.minRtt]).toEqual([true, 10, 10]);
    // outside recovery the reordering window is min RTT / 4 = 2.5: segment 0 (t=0) overdue at 12.5
    expect(rack.detect(sb, 1, false, 12)).toBe(false);
    expect(rack.timerAt).toBe(12.5);
    expect(rack.detect(sb, 1, false, 12.5)).toBe(true);
    expect(sb.q.slice(sb.head).map((s) => s!.lost)).toEqual([true, false, false]);
    expect(rack.timerAt).toBe(13.5); // segment 1 (t=1)
  });

  it('a retransmission delivered faster than any round trip says nothing (an earlier copy arrived)', () => {
    const { sb, rack, seq } = board(2);
    rack.beginAck();
    sb.ackTo(seq(1), 10); // RTT sample 10
    rack.endAck(true);
    const s = sb.q[sb.head]!;
    sb.resent(s, 20);
    rack.beginAck();
    sb.ackTo(seq(2), 21); // 1 ms after the retransmission: the original arrived
    rack.endAck(true);
    expect([rack.xmitAt, rack.retx, rack.minRtt]).toEqual([0, false, 10]);
  });
});
