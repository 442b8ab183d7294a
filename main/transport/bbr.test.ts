import { describe, expect, it } from 'vitest';
import {
  BBR_CYCLE,
  BBR_DRAIN,
  BBR_HIGH_GAIN,
  BBR_MIN_RTT_WINDOW_MS,
  BBR_PROBE_BW,
  BBR_PROBE_RTT,
  BBR_PROBE_RTT_MS,
  BBR_STARTUP,
  BbrController,
} from './bbr';
import { makeTransportConfig } from './config';
import type { RateSample } from './delivery-rate';

const SEG = 1000;
const cfg = makeTransportConfig({ initialCwnd: 10 * SEG, initialSsthresh: 200 * SEG, maxCwnd: 1000 * SEG, congestion: 'bbr' });

/**
 * Drives a controller with synthetic ACKs: every `ack` call is one round trip that delivered `acked`
 * bytes at `rate` (bytes/ms) with an RTT sample of `rtt` ms, `pipe` bytes in flight after it.
 */
function driver() {
  const cc = new BbrController(cfg, SEG);
  let total = 0;
  let now = 0;
  const ack = (o: { rate: number; rtt?: number; acked?: number; pipe?: number; appLimited?: boolean; dt?: number }): void => {
    const acked = o.acked ?? SEG;
    const rs: RateSample = {
      valid: true,
      rate: o.rate,
      delivered: acked,
      interval: 40,
      priorDelivered: total, // sent after the last round's end: a new round
      appLimited: o.appLimited ?? false,
      acked,
      totalDelivered: total + acked,
    };
    total += acked;
    now += o.dt ?? 40;
    cc.onAckSample(rs, o.rtt ?? 40, o.pipe ?? 0, now);
  };
  return { cc, ack, now: () => now };
}

describe('BbrController', () => {
  it('starts up at the high gain: pacing 2.885 x the bandwidth, the window grows by what is delivered', () => {
    const { cc, ack } = driver();
    expect([cc.state, cc.cwnd, cc.pacingRate]).toEqual([BBR_STARTUP, 10 * SEG, Infinity]);
    ack({ rate: 100, acked: 10 * SEG, pipe: 10 * SEG });
    expect(cc.btlBw).toBe(100);
    expect(cc.minRtt).toBe(40);
    expect(cc.pacingRate).toBeCloseTo(BBR_HIGH_GAIN * 100);
    expect(cc.cwnd).toBe(20 * SEG);
  });

  it('leaves startup after 3 rounds without 25 % more bandwidth, drains to one BDP, then cycles the gains', () => {
    const { cc, ack } = driver();
    ack({ rate: 100 });
    ack({ rate: 200 });
    ack({ rate: 400 });
    ack({ rate: 450 });
    ack({ rate: 450 });
    expect(cc.state).toBe(BBR_STARTUP);
    ack({ rate: 450, pipe: 40 * SEG });
    expect(cc.state).toBe(BBR_DRAIN); // BDP = 450 x 40 = 18,000 < pipe: the queue drains first
    expect(cc.pacingRate).toBeCloseTo(450 / BBR_HIGH_GAIN);
    ack({ rate: 400, pipe: 18 * SEG });
    expect(cc.state).toBe(BBR_PROBE_BW);
    const gains: number[] = [];
    for (let i = 0; i < 8; i++) {
      gains.push(cc.pacingGain);
      ack({ rate: 400, pipe: cc.pacingGain > 1 ? 23 * SEG : 18 * SEG, dt: 41 });
    }
    expect([...gains].sort()).toEqual([...BBR_CYCLE].sort()); // one phase per min RTT, all eight
    expect(cc.pacingRate).toBeCloseTo(cc.pacingGain * 450);
    expect(cc.cwnd).toBeLessThanOrEqual(2 * 450 * 40 + 3 * SEG); // two BDPs (+ ACK allowance)
  });

  it('the bandwidth is the max of the last 10 rounds; app-limited samples only raise it', () => {
    const { cc, ack } = driver();
    ack({ rate: 500 });
    ack({ rate: 100, appLimited: true });
    expect(cc.btlBw).toBe(500);
    for (let i = 0; i < 9; i++) ack({ rate: 300 });
    expect(cc.btlBw).toBe(300); // the 500 aged out
    ack({ rate: 400, appLimited: true });
    expect(cc.btlBw).toBe(400);
  });

  it('random loss keeps the window; loss with a standing queue bounds it at 0.85 x the flight', () => {
    const { cc, ack } = driver();
    for (let i = 0; i < 10; i++) ack({ rate: 400, pipe: 16 * SEG, acked: 20 * SEG });
    const w = cc.cwnd;
    cc.onLoss(w); // the last RTT sample is the min RTT: no queue, random loss
    cc.onDupAcks();
    expect(cc.cwnd).toBe(w);
    ack({ rate: 400, rtt: 60, pipe: 16 * SEG }); // a queue of 20 ms
    cc.onLoss(20 * SEG);
    expect(cc.inflightHi).toBe(17 * SEG);
    expect(cc.cwnd).toBe(17 * SEG);
    ack({ rate: 400, pipe: 16 * SEG, acked: 17 * SEG });
    expect(cc.cwnd).toBeCloseTo(17 * SEG + SEG); // grows back one segment per window
  });

  it('a timeout restarts the window at one segment; the old one is back when the recovery ends', () => {
    const { cc, ack } = driver();
    for (let i = 0; i < 10; i++) ack({ rate: 400, pipe: 16 * SEG, acked: 20 * SEG });
    const w = cc.cwnd;
    cc.onRto();
    expect(cc.cwnd).toBe(SEG);
    cc.onRto(); // a repeated timeout does not forget the window from before the first
    cc.onRecoveryEnd(true);
    expect(cc.cwnd).toBe(w);
  });

  it('probes the min RTT after 10 s without a lower sample: 4 segments for 200 ms and a round, then back', () => {
    const { cc, ack, now } = driver();
    for (let i = 0; i < 10; i++) ack({ rate: 400, pipe: 16 * SEG, acked: 20 * SEG });
    expect(cc.state).toBe(BBR_PROBE_BW);
    const w = cc.cwnd;
    ack({ rate: 400, rtt: 45, pipe: 16 * SEG, dt: BBR_MIN_RTT_WINDOW_MS + 1 });
    expect(cc.state).toBe(BBR_PROBE_RTT);
    expect(cc.cwnd).toBe(4 * SEG);
    expect(cc.minRtt).toBe(45); // the expired estimate takes the new sample
    ack({ rate: 400, rtt: 40, pipe: 4 * SEG, dt: 1 }); // drained to 4 segments: the 200 ms start
    const t = now();
    ack({ rate: 400, rtt: 40, pipe: 4 * SEG, dt: 100 });
    expect(cc.state).toBe(BBR_PROBE_RTT);
    ack({ rate: 400, rtt: 40, pipe: 4 * SEG, dt: BBR_PROBE_RTT_MS });
    expect(now() - t).toBeGreaterThanOrEqual(BBR_PROBE_RTT_MS);
    expect(cc.state).toBe(BBR_PROBE_BW);
    expect(cc.cwnd).toBe(w);
    expect(cc.minRtt).toBe(40);
  });

  it('caps the startup window at the initial slow-start threshold (a buffer under one BDP is not overrun)', () => {
    const { cc, ack } = driver();
    for (let i = 0; i < 3; i++) ack({ rate: 10_000 * (i + 1), acked: 100 * SEG });
    expect(cc.state).toBe(BBR_STARTUP);
    expect(cc.cwnd).toBe(200 * SEG);
  });
});
