import { describe, expect, it, vi } from 'vitest';
import { Loopback } from './loopback';

describe('Loopback', () => {
  it('delivers a copy on a later turn, in order, never inside send', async () => {
    const got: number[][] = [];
    const lb = new Loopback((p) => got.push([...p]));
    const buf = Uint8Array.of(1, 2);
    lb.send(buf);
    buf[0] = 9; // the caller reuses its buffer: the copy is what arrives
    lb.send(Uint8Array.of(3));
    expect(got).toEqual([]);
    await vi.waitFor(() => expect(got).toEqual([[1, 2], [3]]));
    expect(lb.totals).toEqual({ packets: 2, bytes: 3 });
  });

  it('a packet sent while delivering goes out on the next turn (no re-entry)', async () => {
    const got: number[] = [];
    let depth = 0;
    const lb = new Loopback((p) => {
      depth++;
      expect(depth).toBe(1);
      got.push(p[0]!);
      if (p[0]! < 3) lb.send(Uint8Array.of(p[0]! + 1));
      depth--;
    });
    lb.send(Uint8Array.of(1));
    await vi.waitFor(() => expect(got).toEqual([1, 2, 3]));
  });

  it('delivers nothing after close', async () => {
    const got: Uint8Array[] = [];
    const lb = new Loopback((p) => got.push(p));
    lb.send(Uint8Array.of(1));
    lb.close();
    lb.send(Uint8Array.of(2));
    // A delivery scheduled after close would land on this turn or the next; give it a turn.
    await new Promise<void>((r) => setImmediate(r));
    await new Promise<void>((r) => setImmediate(r));
    expect(got).toEqual([]);
  });
});
