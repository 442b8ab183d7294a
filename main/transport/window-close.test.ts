// Receive flow control with `manualConsume` (the node's setting): data the application has not
// consumed keeps its window slot; with every slot taken the window is closed, so a new in-order
// segment is neither delivered nor acknowledged (the window field cannot say 0: the reference reads
// 0 as "no limit"), and consuming announces the reopened window with an ACK at once.
import { describe, expect, it } from 'vitest';
import { backboneAddress } from '../../shared/address';
import type { TransportConfig } from './config';
import { FLAG_ACK, FLAG_SYN, StreamConnection, type Segment } from './stream';

function established(config: Partial<TransportConfig>): { conn: StreamConnection; data: Uint8Array[]; take: () => Segment[] } {
  const sent: Segment[] = [];
  const data: Uint8Array[] = [];
  let taken = 0;
  const conn = new StreamConnection({
    localPort: 49152,
    remoteAddr: backboneAddress(2),
    remotePort: 1000,
    role: 'initiator',
    now: 0,
    hooks: { send: (_c, s) => sent.push(s), data: (_c, d) => data.push(d), event: () => undefined },
    config,
    relayFallback: false,
  });
  conn.open(0);
  conn.receive({ flags: FLAG_SYN | FLAG_ACK, seq: 0, ack: 1, window: 512, payload: new Uint8Array(0) }, 0);
  const take = (): Segment[] => {
    const out = sent.slice(taken);
    taken = sent.length;
    return out;
  };
  take();
  return { conn, data, take };
}

const dataSeg = (i: number): Segment => ({ flags: FLAG_ACK, seq: 1 + i * 10, ack: 1, window: 512, payload: new Uint8Array(10).fill(i) });

describe('receive window with manualConsume', () => {
  it('closes when every slot holds unconsumed data, and reopens with an ACK when consumed', () => {
    const r = established({ manualConsume: true, recvSlots: 4, delayedAckSegments: 1 });
    for (let i = 0; i < 4; i++) r.conn.receive(dataSeg(i), 1);
    expect(r.data).toHaveLength(4);
    const acks = r.take();
    expect(acks.at(-1)).toMatchObject({ flags: FLAG_ACK, ack: 41, window: 1 }); // the smallest the field says
    expect(r.conn.stats().recvWin).toBe(4096);

    // Full: the fifth segment is refused, silently.
    r.conn.receive(dataSeg(4), 2);
    expect(r.data).toHaveLength(4);
    expect(r.take()).toEqual([]);

    // The application takes one chunk: the window reopens and says so at once.
    r.conn.consumed(1);
    expect(r.take()).toEqual([expect.objectContaining({ flags: FLAG_ACK, ack: 41, window: 1 })]);
    r.conn.consumed(3);
    expect(r.take()).toEqual([]); // already announced open; the next ACK carries the rest

    // The sender's retransmission is taken now.
    r.conn.receive(dataSeg(4), 3);
    expect(r.data).toHaveLength(5);
    expect(r.take().at(-1)).toMatchObject({ ack: 51, window: 3 });
  });

  it('without manualConsume nothing changes: every in-order segment is delivered', () => {
    const r = established({ recvSlots: 4, delayedAckSegments: 1 });
    for (let i = 0; i < 8; i++) r.conn.receive(dataSeg(i), 1);
    expect(r.data).toHaveLength(8);
    expect(r.take().at(-1)).toMatchObject({ ack: 81, window: 4 });
  });
});
