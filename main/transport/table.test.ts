import { describe, expect, it } from 'vitest';
import { backboneAddress, type Address } from '../../shared/address';
import { ConnectionTable, type TableConfig } from './table';
import { FLAG_ACK, FLAG_RST, FLAG_SYN, type Segment, type StreamConnection, type StreamEvent } from './stream';

const EMPTY = new Uint8Array(0);

interface Out {
  localPort: number;
  remote: Address;
  remotePort: number;
  seg: Segment;
  conn?: StreamConnection;
}

function mkTable(cfg?: Partial<TableConfig>) {
  const out: Out[] = [];
  const events: [StreamConnection, StreamEvent][] = [];
  const incoming: number[] = [];
  const table = new ConnectionTable(
    {
      send: (c, seg) => out.push({ localPort: c.localPort, remote: c.remoteAddr, remotePort: c.remotePort, seg, conn: c }),
      sendRaw: (localPort, remote, remotePort, seg) => out.push({ localPort, remote, remotePort, seg }),
      data: () => undefined,
      event: (c, e) => events.push([c, e]),
      incoming: (p) => incoming.push(p),
    },
    cfg,
  );
  return { table, out, events, incoming };
}

const syn = (): Segment => ({ flags: FLAG_SYN, seq: 0, ack: 0, window: 512, payload: EMPTY });
const peer = backboneAddress(1);

describe('ConnectionTable', () => {
  it('SYN to an unbound port → RST with ports swapped (packet_rst fields)', () => {
    const { table, out } = mkTable();
    table.handleIncoming({ src: peer, srcPort: 49152, dstPort: 1000, seg: syn() }, 0);
    expect(out).toHaveLength(1);
    const o = out[0]!;
    expect([o.localPort, o.remotePort, o.remote]).toEqual([1000, 49152, peer]);
    expect([o.seg.flags, o.seg.seq, o.seg.ack, o.seg.window, o.seg.payload.length]).toEqual([FLAG_RST, 0, 0, 0, 0]);
    expect(table.size).toBe(0);
  });

  it('stray non-SYN segment → RST; a stray RST is never answered', () => {
    const { table, out } = mkTable();
    table.handleIncoming({ src: peer, srcPort: 5, dstPort: 6, seg: { flags: FLAG_ACK, seq: 1, ack: 1, window: 1, payload: EMPTY } }, 0);
    expect(out.map((o) => o.seg.flags)).toEqual([FLAG_RST]);
    table.handleIncoming({ src: peer, srcPort: 5, dstPort: 6, seg: { flags: FLAG_RST, seq: 0, ack: 0, window: 0, payload: EMPTY } }, 0);
    expect(out).toHaveLength(1);
  });

  it('SYN to a listener → responder in the accept queue; retransmitted SYN → same SYN|ACK, no second connection', () => {
    const { table, out, incoming } = mkTable();
    table.listen(1000);
    table.handleIncoming({ src: peer, srcPort: 49152, dstPort: 1000, seg: syn() }, 0);
    table.handleIncoming({ src: peer, srcPort: 49152, dstPort: 1000, seg: syn() }, 1000);
    expect(out.map((o) => [o.seg.flags, o.seg.seq, o.seg.ack, o.seg.window])).toEqual([
      [FLAG_SYN | FLAG_ACK, 0, 1, 512],
      [FLAG_SYN | FLAG_ACK, 0, 1, 512],
    ]);
    expect(table.size).toBe(1);
    expect(incoming).toEqual([1000]);
    const c = table.accept(1000)!;
    expect([c.id, c.state, c.localPort, c.remotePort]).toEqual([1, 'ESTABLISHED', 1000, 49152]);
    expect(table.accept(1000)).toBeUndefined();
    expect(table.find(1000, peer, 49152)).toBe(c);
  });

  it('accept queue full → RST', () => {
    const { table, out } = mkTable();
    table.listen(1000, 2);
    for (let i = 0; i < 3; i++) table.handleIncoming({ src: peer, srcPort: 50000 + i, dstPort: 1000, seg: syn() }, 0);
    expect(out.map((o) => [o.remotePort, o.seg.flags])).toEqual([
      [50000, FLAG_SYN | FLAG_ACK],
      [50001, FLAG_SYN | FLAG_ACK],
      [50002, FLAG_RST],
    ]);
    expect(table.pendingAccepts(1000)).toBe(2);
    expect(() => table.listen(1000)).toThrow();
  });

  it('per-port connection limit → RST', () => {
    const { table, out } = mkTable({ maxConnsPerPort: 2 });
    table.listen(1000);
    for (let i = 0; i < 3; i++) table.handleIncoming({ src: peer, srcPort: 50000 + i, dstPort: 1000, seg: syn() }, 0);
    expect(out.map((o) => o.seg.flags)).toEqual([FLAG_SYN | FLAG_ACK, FLAG_SYN | FLAG_ACK, FLAG_RST]);
  });

  it('per-peer connection limit: one node cannot take every slot; another node is still served', () => {
    const { table, out } = mkTable({ maxConnsPerPeer: 2 });
    table.listen(1000);
    for (let i = 0; i < 3; i++) table.handleIncoming({ src: peer, srcPort: 50000 + i, dstPort: 1000, seg: syn() }, 0);
    table.handleIncoming({ src: backboneAddress(2), srcPort: 50000, dstPort: 1000, seg: syn() }, 0);
    expect(out.map((o) => o.seg.flags)).toEqual([FLAG_SYN | FLAG_ACK, FLAG_SYN | FLAG_ACK, FLAG_RST, FLAG_SYN | FLAG_ACK]);
    expect(table.peerLimited).toBe(1);
  });

  it('congestion control per connection: the hook chooses, else the config', () => {
    const { table } = mkTable();
    const plain = table.dial(peer, 1000, 0);
    expect(plain.congestion).toBe('reno');
    const hooked = new ConnectionTable(
      { send: () => undefined, sendRaw: () => undefined, data: () => undefined, event: () => undefined, congestionFor: (r) => (r.node === 2 ? 'bbr' : undefined) },
      {},
    );
    expect(hooked.dial(backboneAddress(2), 1000, 0).congestion).toBe('bbr');
    expect(hooked.dial(backboneAddress(3), 1000, 0).congestion).toBe('reno');
  });

  it('SYN rate limits: 10/s per source, 100/s global; excess dropped silently, tokens refill', () => {
    const { table, out } = mkTable();
    table.listen(1000, 1000);
    for (let i = 0; i < 12; i++) table.handleIncoming({ src: peer, srcPort: 40000 + i, dstPort: 1000, seg: syn() }, 0);
    expect(out).toHaveLength(10);
    table.handleIncoming({ src: peer, srcPort: 41000, dstPort: 1000, seg: syn() }, 100); // +1 token after 100 ms
    table.handleIncoming({ src: peer, srcPort: 41001, dstPort: 1000, seg: syn() }, 100);
    expect(out).toHaveLength(11);
    // global: 100 sources × 2 SYNs at t=1 s: 89 global tokens left after the 11 above (+ refill to 100 max)
    out.length = 0;
    for (let n = 10; n < 70; n++) {
      for (let k = 0; k < 2; k++) table.handleIncoming({ src: backboneAddress(n), srcPort: 30000 + k, dstPort: 1000, seg: syn() }, 1100);
    }
    expect(out).toHaveLength(100);
  });

  it('ephemeral ports count from 49152, wrap after 65535 and skip ports in use', () => {
    const { table } = mkTable();
    const first = table.dial(peer, 1000, 0);
    expect(first.localPort).toBe(49152);
    expect(first.id).toBe(1);
    const span = 65535 - 49152 + 1;
    let last = 0;
    for (let i = 1; i < span; i++) last = table.allocatePort();
    expect(last).toBe(65535);
    expect(table.allocatePort()).toBe(49153); // 49152 is in use
    table.listen(49154);
    expect(table.allocatePort()).toBe(49155); // listener port skipped
  });

  it('dial: SYN out, SYN|ACK in → established; ids count from 1', () => {
    const { table, out, events } = mkTable();
    const c = table.dial(peer, 7, 0);
    expect(out.map((o) => [o.localPort, o.remotePort, o.seg.flags])).toEqual([[49152, 7, FLAG_SYN]]);
    table.handleIncoming({ src: peer, srcPort: 7, dstPort: 49152, seg: { flags: FLAG_SYN | FLAG_ACK, seq: 0, ack: 1, window: 512, payload: EMPTY } }, 20);
    expect(c.state).toBe('ESTABLISHED');
    expect(events.map(([, e]) => e.type)).toEqual(['established']);
    expect(table.dial(peer, 7, 21).id).toBe(2);
  });

  it('one deadline over thousands of connections; tick runs due ones; closed ones are reaped', () => {
    const { table, out, events } = mkTable();
    const conns: StreamConnection[] = [];
    for (let i = 0; i < 3000; i++) conns.push(table.dial(backboneAddress(100 + i), 7, i % 500));
    expect(table.nextDeadline()).toBe(1000);
    out.length = 0;
    table.tick(1000);
    expect(out).toHaveLength(6); // connections dialled at t=0 retransmit their SYN
    expect(table.nextDeadline()).toBe(1001);
    // run the dial timeline to the end: every dial fails with a timeout and is removed
    for (;;) {
      const d = table.nextDeadline();
      if (d === undefined) break;
      table.tick(d);
    }
    expect(table.size).toBe(0);
    expect(table.activeCount).toBe(0);
    expect(events.filter(([, e]) => e.type === 'closed' && e.reason === 'timeout')).toHaveLength(3000);
    expect(events.filter(([, e]) => e.type === 'dial_relay_hint')).toHaveLength(3000);
  });

  it('TIME_WAIT connections are reaped after 10 s and free their port', () => {
    const { table } = mkTable();
    const c = table.dial(peer, 7, 0);
    table.handleIncoming({ src: peer, srcPort: 7, dstPort: c.localPort, seg: { flags: FLAG_SYN | FLAG_ACK, seq: 0, ack: 1, window: 512, payload: EMPTY } }, 1);
    c.close(2);
    expect(c.state).toBe('TIME_WAIT');
    expect(table.size).toBe(1);
    expect(table.activeCount).toBe(0);
    table.handleIncoming({ src: peer, srcPort: 7, dstPort: c.localPort, seg: { flags: 0x4 | FLAG_ACK, seq: 1, ack: 2, window: 0, payload: EMPTY } }, 3);
    table.tick(10_001);
    expect(table.size).toBe(1);
    table.tick(10_002);
    expect(table.size).toBe(0);
    expect(table.nextDeadline()).toBeUndefined();
  });
});

describe('admission hook', () => {
  it('refuses a SYN with an RST and creates no connection when admit says no', () => {
    const sent: { seg: Segment; port: number }[] = [];
    const t = new ConnectionTable({
      send: () => undefined,
      sendRaw: (_lp, _r, rp, seg) => sent.push({ seg, port: rp }),
      data: () => undefined,
      event: () => undefined,
      admit: (port, src) => !(port === 1001 && src.node === 9),
    });
    t.listen(1001);
    t.handleIncoming({ src: { network: 0, node: 9 }, srcPort: 49152, dstPort: 1001, seg: { flags: FLAG_SYN, seq: 0, ack: 0, window: 512, payload: new Uint8Array(0) } }, 0);
    expect(t.size).toBe(0);
    expect(t.refused).toBe(1);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.seg.flags).toBe(FLAG_RST);
    t.handleIncoming({ src: { network: 0, node: 8 }, srcPort: 49152, dstPort: 1001, seg: { flags: FLAG_SYN, seq: 0, ack: 0, window: 512, payload: new Uint8Array(0) } }, 0);
    expect(t.size).toBe(1);
  });
});

describe('ConnectionTable with transport.ackBatching', () => {
  function batchingTable() {
    const out: Segment[] = [];
    let pending = 0;
    const table = new ConnectionTable(
      {
        send: (_c, seg) => out.push(seg),
        sendRaw: (_l, _r, _p, seg) => out.push(seg),
        data: () => undefined,
        event: () => undefined,
        acksPending: () => pending++,
      },
      { transport: { ackBatching: true } },
    );
    table.listen(1000);
    table.handleIncoming({ src: peer, srcPort: 49152, dstPort: 1000, seg: syn() }, 0);
    expect(out.map((s) => s.flags)).toEqual([FLAG_SYN | FLAG_ACK]);
    out.length = 0;
    const data = (seq: number, n = 100): Segment => ({ flags: FLAG_ACK, seq, ack: 1, window: 512, payload: new Uint8Array(n) });
    return { table, out, data, pending: () => pending };
  }

  it('a batch of in-order segments is acknowledged by one cumulative ACK at flushAcks', () => {
    const { table, out, data, pending } = batchingTable();
    for (let i = 0; i < 6; i++) table.handleIncoming({ src: peer, srcPort: 49152, dstPort: 1000, seg: data(1 + i * 100) }, 1);
    expect(out).toEqual([]);
    expect(pending()).toBe(1);
    table.flushAcks(2);
    expect(out.map((s) => [s.flags, s.ack, s.payload.length])).toEqual([[FLAG_ACK, 601, 0]]);
    table.flushAcks(3); // nothing deferred any more
    expect(out).toHaveLength(1);
    // the next batch reports again
    table.handleIncoming({ src: peer, srcPort: 49152, dstPort: 1000, seg: data(601) }, 4);
    table.handleIncoming({ src: peer, srcPort: 49152, dstPort: 1000, seg: data(701) }, 4);
    expect(pending()).toBe(2);
    table.flushAcks(5);
    expect(out.map((s) => s.ack)).toEqual([601, 801]);
  });

  it('out-of-order data is still acknowledged at once (SACK); the delayed-ACK timer stays the fallback', () => {
    const { table, out, data } = batchingTable();
    table.handleIncoming({ src: peer, srcPort: 49152, dstPort: 1000, seg: data(201) }, 1);
    expect(out.map((s) => [s.ack, s.payload.length > 0])).toEqual([[1, true]]);
    out.length = 0;
    table.handleIncoming({ src: peer, srcPort: 49152, dstPort: 1000, seg: data(1) }, 2);
    table.handleIncoming({ src: peer, srcPort: 49152, dstPort: 1000, seg: data(101) }, 2);
    // 101: OOO data still behind it; 301: it fills the hole, so it is not deferred either
    expect(out.map((s) => s.ack)).toEqual([101, 301]);
    out.length = 0;
    table.handleIncoming({ src: peer, srcPort: 49152, dstPort: 1000, seg: data(301) }, 10);
    table.handleIncoming({ src: peer, srcPort: 49152, dstPort: 1000, seg: data(401) }, 10);
    expect(out).toEqual([]);
    // no flush (a driver that never flushes): the 40 ms delayed ACK still goes out
    expect(table.nextDeadline()).toBe(50);
    table.tick(50);
    expect(out.map((s) => s.ack)).toEqual([501]);
  });
});
