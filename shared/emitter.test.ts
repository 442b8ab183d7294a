import { describe, expect, it } from 'vitest';
import { Emitter } from './emitter';
import { percentile, rttStats } from './ping-stats';

interface Ev {
  a: number;
  b: string;
}

describe('Emitter', () => {
  it('delivers an event to its handlers and to any-listeners only, until unsubscribed', () => {
    const em = new Emitter<Ev>();
    const got: unknown[] = [];
    const offA = em.on('a', (n) => got.push(['a', n]));
    const offAny = em.onAny((e, d) => got.push(['any', e, d]));
    em.emit('a', 1);
    em.emit('b', 'x');
    expect(em.size).toBe(2);
    offA();
    offAny();
    em.emit('a', 2);
    expect(got).toEqual([['a', 1], ['any', 'a', 1], ['any', 'b', 'x']]);
    expect(em.size).toBe(0);
  });

  it('counts the same handler subscribed twice as two subscriptions', () => {
    const em = new Emitter<Ev>();
    let n = 0;
    const h = (): void => void n++;
    const off1 = em.on('a', h);
    em.on('a', h);
    off1();
    em.emit('a', 0);
    expect(n).toBe(1);
  });

  it('a handler that unsubscribes during emit does not disturb the others', () => {
    const em = new Emitter<Ev>();
    const got: string[] = [];
    const off = em.on('b', () => {
      got.push('first');
      off();
    });
    em.on('b', () => got.push('second'));
    em.emit('b', '');
    em.emit('b', '');
    expect(got).toEqual(['first', 'second', 'second']);
  });
});

describe('ping statistics', () => {
  it('nearest-rank percentiles', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile([3], 99)).toBe(3);
    expect(percentile([], 50)).toBeUndefined();
  });

  it('min / median / p99 / max over the answers; lost probes count as sent', () => {
    expect(rttStats([3, 1, undefined, 2])).toEqual({ sent: 4, received: 3, minMs: 1, maxMs: 3, medianMs: 2, p99Ms: 3 });
    expect(rttStats([])).toEqual({ sent: 0, received: 0 });
  });
});
