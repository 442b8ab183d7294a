import { describe, expect, it } from 'vitest';
import type { CongestionAlgorithm } from './config';
import type { StreamConnection } from './stream';
import { LinkPair, pattern } from './testing/link';

const SEGMENT = 1360;

/** `mb` MB over a 40 ms, 100 Mbit/s path with `loss` both ways (the bench's scenario, shorter). */
function transfer(congestion: CongestionAlgorithm, loss: number, bytes: number) {
  const p = new LinkPair({
    seed: 3,
    link: { latencyMs: 20, loss, rateBytesPerMs: 12_500, queueBytes: 256 * 1024 },
    transport: { maxTransmissions: 16, oooMax: 512, congestion },
    segmentSize: SEGMENT,
  });
  p.b.listen(1000);
  let server: StreamConnection | undefined;
  p.onAccept = (c) => (server = c);
  const client = p.a.dial(p.addr.b, 1000, p.now);
  const data = pattern(bytes, 5);
  p.sendAll(client, data, false);
  const ok = p.run(() => p.receivedCount(server) === bytes, 600_000);
  return { p, ok, server: server!, client, data };
}

describe('BBR over a simulated long lossy path', () => {
  it('delivers everything intact at 5 % loss; retransmissions stay within 2 points of the loss rate', () => {
    const { p, ok, server, client, data } = transfer('bbr', 0.05, 3 * 1024 * 1024);
    expect(ok).toBe(true);
    expect(Buffer.compare(p.received(server), data)).toBe(0); // (toEqual on megabytes is slow)
    const segs = Math.ceil(data.length / SEGMENT);
    expect(client.stats().retransmits / segs).toBeLessThan(0.07);
    expect(p.a.timerSpins + p.b.timerSpins).toBe(0); // pacing deadlines always make progress
  });

  it('keeps its rate on random loss where Reno halves: less simulated time for the same data at 1 %', () => {
    const bbr = transfer('bbr', 0.01, 2 * 1024 * 1024);
    const reno = transfer('reno', 0.01, 2 * 1024 * 1024);
    expect(bbr.ok && reno.ok).toBe(true);
    expect(bbr.p.now).toBeLessThan(reno.p.now / 2);
  });

  it('paces: without loss, no queue drops at the bottleneck and the smoothed RTT stays near the path RTT', () => {
    const { p, ok, client } = transfer('bbr', 0, 4 * 1024 * 1024);
    expect(ok).toBe(true);
    expect(p.stats.queueDrops).toBe(0);
    expect(client.stats().retransmits).toBe(0);
    expect(client.stats().srttMs).toBeLessThan(60); // the 256 KB queue full would be 61 ms
  });
});
