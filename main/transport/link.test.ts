import { describe, expect, it } from 'vitest';
import { LinkPair, pattern, type PairOptions } from './testing/link';
import { FLAG_ACK, FLAG_FIN, type StreamConnection } from './stream';
import { bytesEqual } from '../util/bytes';

/** Dials a → b:1000, transfers `aToB` / `bToA` bytes, both writers close when done. */
function transfer(opts: PairOptions, aToB: number, bToA: number, maxMs = 600_000) {
  const p = new LinkPair(opts);
  p.b.listen(1000);
  let server: StreamConnection | undefined;
  const dataA = pattern(aToB, 11);
  const dataB = pattern(bToA, 12);
  p.onAccept = (c) => {
    server = c;
    p.sendAll(c, dataB, false);
  };
  const client = p.a.dial(p.addr.b, 1000, p.now);
  p.sendAll(client, dataA, false);
  const ok = p.run(
    () => p.receivedCount(server) === aToB && p.receivedCount(client) === bToA,
    maxMs,
  );
  return { p, client, server: server!, ok, dataA, dataB };
}

describe('transfers over the in-memory link', () => {
  const MB = 1024 * 1024;
  const cases: [string, PairOptions, number][] = [
    ['0% loss', { seed: 1 }, 4 * MB],
    ['5% loss', { seed: 2, link: { loss: 0.05 } }, 3 * MB],
    ['20% loss', { seed: 3, link: { loss: 0.2 } }, 2 * MB],
    ['reordering', { seed: 4, link: { reorder: 0.3, reorderMs: 20 } }, 2 * MB],
    ['duplication', { seed: 5, link: { dup: 0.2 } }, 2 * MB],
    ['loss + reorder + dup', { seed: 6, link: { loss: 0.1, reorder: 0.2, reorderMs: 15, dup: 0.1 } }, 2 * MB],
  ];
  for (const [name, opts, size] of cases) {
    it(`${name}: ${size / MB} MB each way arrive byte-exact`, () => {
      const { p, client, server, ok, dataA, dataB } = transfer(opts, size, size);
      expect(ok).toBe(true);
      expect(bytesEqual(p.received(server), dataA)).toBe(true);
      expect(bytesEqual(p.received(client), dataB)).toBe(true);
      expect(client.state).toBe('ESTABLISHED');
      expect(server.state).toBe('ESTABLISHED');
    });
  }
});

describe('graceful close over the link', () => {
  for (const [name, link] of [
    ['no loss', {}],
    ['10% loss + reorder', { loss: 0.1, reorder: 0.2, reorderMs: 10 }],
    ['25% loss', { loss: 0.25 }],
  ] as const) {
    it(`${name}: write N then close at once → reader gets all N bytes, then closed(fin)`, () => {
      const p = new LinkPair({ seed: 21, link });
      p.b.listen(1000);
      let server: StreamConnection | undefined;
      let closedAfter = -1;
      p.onAccept = (c) => (server = c);
      const N = 300_000 + 123;
      const data = pattern(N, 5);
      const client = p.a.dial(p.addr.b, 1000, p.now);
      p.sendAll(client, data, true); // close() right after the last write (in SYN_SENT even)
      const done = p.run(() => {
        if (server && closedAfter < 0 && p.closedReason(server) !== undefined) closedAfter = p.receivedCount(server);
        return closedAfter >= 0 && p.closedReason(client) !== undefined;
      }, 600_000);
      expect(done).toBe(true);
      expect(closedAfter).toBe(N);
      expect(bytesEqual(p.received(server!), data)).toBe(true);
      expect(p.eventsOf(server!).at(-1)).toEqual({ type: 'closed', reason: 'fin', lostBytes: 0 });
      expect(p.eventsOf(client).at(-1)).toEqual({ type: 'closed', reason: 'fin', lostBytes: 0 });
      // both sides end in CLOSED and leave their tables
      p.runFor(60_000);
      expect([p.a.size, p.b.size]).toEqual([0, 0]);
    });
  }

  it('the FIN exchange is exactly FIN → FIN|ACK (a FIN|ACK is never answered)', () => {
    const p = new LinkPair({ seed: 1 });
    p.b.listen(1000);
    let server: StreamConnection | undefined;
    p.onAccept = (c) => (server = c);
    const client = p.a.dial(p.addr.b, 1000, p.now);
    p.run(() => server !== undefined && client.state === 'ESTABLISHED', 1000);
    p.record = true;
    client.close(p.now);
    p.runFor(30_000);
    const fins = p.wire.filter((w) => w.seg.flags & FLAG_FIN);
    expect(fins.map((w) => [w.from, w.seg.flags])).toEqual([
      ['a', FLAG_FIN],
      ['b', FLAG_FIN | FLAG_ACK],
    ]);
    expect(p.wire).toHaveLength(2);
    expect([client.state, server!.state]).toEqual(['CLOSED', 'CLOSED']);
  });

  it('dial to a port without listener → closed(refused)', () => {
    const p = new LinkPair({ seed: 1 });
    const client = p.a.dial(p.addr.b, 999, p.now);
    p.runFor(100);
    expect(p.closedReason(client)).toBe('refused');
    expect(p.a.size).toBe(0);
  });
});

describe('loss recovery over a bottleneck (simulated time, deterministic per seed)', () => {
  const MB = 1024 * 1024;
  /** One 1,360-byte-segment stream a → b over a 100 MB/s bottleneck with a 256 KiB drop-tail queue. */
  function bulk(loss: number, size: number, seed: number) {
    const p = new LinkPair({
      seed,
      link: { latencyMs: 0.5, loss, rateBytesPerMs: 100_000, queueBytes: 256 * 1024 },
      transport: { maxTransmissions: 16, oooMax: 512 },
      segmentSize: 1360,
    });
    p.b.listen(1000);
    let server: StreamConnection | undefined;
    p.onAccept = (c) => (server = c);
    const data = pattern(size, seed);
    const client = p.a.dial(p.addr.b, 1000, p.now);
    p.sendAll(client, data, false);
    const ok = p.run(() => p.receivedCount(server) === size, 600_000);
    return { ok, ms: p.now, st: client.stats(), exact: server !== undefined && bytesEqual(p.received(server), data), p };
  }

  it('no random loss: slow start overflows the queue, the burst of drops is repaired within a second', () => {
    const r = bulk(0, 8 * MB, 1);
    expect(r.ok && r.exact).toBe(true);
    expect(r.p.stats.queueDrops).toBeGreaterThan(50);
    expect(r.st.timeouts).toBe(0);
    expect(r.ms).toBeLessThan(1000);
  });

  for (const [loss, seed] of [
    [0.05, 2],
    [0.2, 3],
  ] as const) {
    it(`${loss * 100} % loss each way: byte-exact, repaired by fast recovery and probes, RTOs rare`, () => {
      const r = bulk(loss, 2 * MB, seed);
      expect(r.ok && r.exact).toBe(true);
      expect(r.st.fastRetx).toBeGreaterThan(20);
      expect(r.st.timeouts).toBeLessThanOrEqual(r.st.fastRetx / 10);
      // the RTO-bound recovery this replaced needed ~40 simulated seconds for 2 MB at 20 %
      expect(r.ms).toBeLessThan(loss === 0.2 ? 5000 : 1500);
    });
  }
});
