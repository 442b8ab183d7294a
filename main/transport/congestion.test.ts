import { describe, expect, it } from 'vitest';
import { makeTransportConfig } from './config';
import { RenoController } from './congestion';

const SEG = 1000;
const cfg = makeTransportConfig({ mss: 4096, initialCwnd: 10 * SEG, initialSsthresh: 20 * SEG, maxCwnd: 40 * SEG });
const reno = (): RenoController => new RenoController(cfg, SEG);

describe('RenoController', () => {
  it('starts at the configured window and threshold', () => {
    const cc = reno();
    expect([cc.cwnd, cc.ssthresh]).toEqual([10 * SEG, 20 * SEG]);
  });

  it('slow start below ssthresh (cwnd += acked), then one segment per window of acknowledged data', () => {
    const cc = reno();
    cc.onAck(4 * SEG, false);
    expect(cc.cwnd).toBe(14 * SEG);
    cc.onAck(6 * SEG, false);
    expect(cc.cwnd).toBe(20 * SEG); // reached ssthresh: congestion avoidance from here
    cc.onAck(10 * SEG, false);
    expect(cc.cwnd).toBe(20 * SEG + Math.floor((SEG * 10 * SEG) / (20 * SEG)));
    const before = cc.cwnd;
    cc.onAck(1, false);
    expect(cc.cwnd).toBe(before + 1); // at least one byte per ACK
  });

  it('never grows beyond maxCwnd', () => {
    const cc = reno();
    cc.onAck(100 * SEG, false);
    expect(cc.cwnd).toBe(40 * SEG);
  });

  it('loss: ssthresh = half of what was in flight (at most cwnd), at least 2 segments; cwnd = ssthresh', () => {
    const cc = reno();
    cc.onLoss(6 * SEG);
    expect([cc.ssthresh, cc.cwnd]).toEqual([3 * SEG, 3 * SEG]);
    const big = reno();
    big.onLoss(100 * SEG); // flight above cwnd counts as cwnd
    expect([big.ssthresh, big.cwnd]).toEqual([5 * SEG, 5 * SEG]);
    const tiny = reno();
    tiny.onLoss(SEG);
    expect([tiny.ssthresh, tiny.cwnd]).toEqual([2 * SEG, 2 * SEG]);
  });

  it('fast recovery: no growth on ACKs, inflation per duplicate ACK (capped), deflation at the end', () => {
    const cc = reno();
    cc.onLoss(10 * SEG);
    cc.onDupAcks(3);
    expect(cc.cwnd).toBe(8 * SEG);
    cc.onDupAcks(1);
    expect(cc.cwnd).toBe(9 * SEG);
    cc.onAck(4 * SEG, true);
    expect(cc.cwnd).toBe(9 * SEG);
    cc.onRecoveryEnd(false);
    expect([cc.cwnd, cc.ssthresh]).toEqual([5 * SEG, 5 * SEG]);
    cc.onDupAcks(100);
    expect(cc.cwnd).toBe(40 * SEG);
  });

  it('RTO: cwnd = one segment, ssthresh halved only by the first timeout of a recovery; slow start after', () => {
    const cc = reno();
    cc.onRto(8 * SEG, false);
    expect([cc.cwnd, cc.ssthresh]).toEqual([SEG, 4 * SEG]);
    cc.onRto(8 * SEG, true);
    expect([cc.cwnd, cc.ssthresh]).toEqual([SEG, 4 * SEG]);
    cc.onRecoveryEnd(true); // no deflation after a timeout
    expect(cc.cwnd).toBe(SEG);
    cc.onAck(2 * SEG, false);
    expect(cc.cwnd).toBe(3 * SEG);
  });
});
