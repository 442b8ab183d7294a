import { describe, expect, it } from 'vitest';
import { KeyDirectory } from './key-directory';

const key = (b: number): Uint8Array => new Uint8Array(32).fill(b);

function lookups(): { fn: (id: number) => Promise<Uint8Array | undefined>; answer: (id: number, k: Uint8Array | undefined | Error) => void; asked: number[] } {
  const pending = new Map<number, { resolve: (k: Uint8Array | undefined) => void; reject: (e: Error) => void }>();
  const asked: number[] = [];
  return {
    asked,
    fn: (id) => {
      asked.push(id);
      return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
    },
    answer: (id, k) => {
      const p = pending.get(id)!;
      pending.delete(id);
      if (k instanceof Error) p.reject(k);
      else p.resolve(k);
    },
  };
}

describe('KeyDirectory', () => {
  it('answers from the cache synchronously and makes one lookup per node for many frames', async () => {
    const l = lookups();
    const faults: unknown[] = [];
    const d = new KeyDirectory(l.fn, () => 0, (e) => faults.push(e));
    const got: (Uint8Array | undefined)[] = [];
    expect(d.withKey(7, (k) => got.push(k))).toBe('queued');
    expect(d.withKey(7, (k) => got.push(k))).toBe('queued');
    expect(l.asked).toEqual([7]);
    l.answer(7, key(1));
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual([key(1), key(1)]);
    expect(d.withKey(7, (k) => got.push(k))).toBe('now');
    expect(got).toHaveLength(3);
    expect(d.lookupCount).toBe(1);
    expect(faults).toEqual([]);
  });

  it('reuses "not registered" for a while, and treats a failed lookup as not registered', async () => {
    const l = lookups();
    let now = 0;
    const d = new KeyDirectory(l.fn, () => now, () => undefined, { unknownRetryMs: 1000 });
    const got: (Uint8Array | undefined)[] = [];
    d.withKey(9, (k) => got.push(k));
    l.answer(9, new Error('registry down'));
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual([undefined]);
    expect(d.withKey(9, (k) => got.push(k))).toBe('now');
    now = 1000;
    expect(d.withKey(9, (k) => got.push(k))).toBe('queued');
    expect(l.asked).toEqual([9, 9]);
  });

  it('bounds lookups in flight and waiters per node: beyond them frames are refused, not queued', () => {
    const l = lookups();
    const d = new KeyDirectory(l.fn, () => 0, () => undefined, { maxLookups: 2, maxWaitersPerNode: 2 });
    expect(d.withKey(1, () => undefined)).toBe('queued');
    expect(d.withKey(1, () => undefined)).toBe('queued');
    expect(d.withKey(1, () => undefined)).toBe('refused');
    expect(d.withKey(2, () => undefined)).toBe('queued');
    expect(d.withKey(3, () => undefined)).toBe('refused');
    expect(d.pending).toBe(2);
  });

  it('a disagreeing frame forgets the cached key at most once per refresh interval', () => {
    const l = lookups();
    let now = 0;
    const d = new KeyDirectory(l.fn, () => now, () => undefined, { refreshMs: 100 });
    d.remember(4, key(4));
    d.disagree(4);
    expect(d.withKey(4, () => undefined)).toBe('queued');
    l.answer(4, key(4));
    d.remember(4, key(4));
    d.disagree(4); // within 100 ms of the last refresh: kept
    expect(d.withKey(4, () => undefined)).toBe('now');
    now = 100;
    d.disagree(4);
    expect(d.withKey(4, () => undefined)).toBe('queued');
  });

  it('a throwing continuation reaches onFault, never an unhandled rejection', async () => {
    const l = lookups();
    const faults: unknown[] = [];
    const d = new KeyDirectory(l.fn, () => 0, (e) => faults.push(e));
    d.withKey(5, () => {
      throw new TypeError('bug in a handler');
    });
    l.answer(5, key(5));
    await new Promise((r) => setImmediate(r));
    expect(faults).toHaveLength(1);
    expect(String(faults[0])).toContain('bug in a handler');
  });
});
