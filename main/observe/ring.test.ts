import { describe, it, expect } from 'vitest';
import { Ring } from './ring';
import { Tracer } from './tracer';
import { LogRing } from './logs';
import { createLogger } from '../util/log';

describe('observe', () => {
  it('ring keeps the newest entries in order', () => {
    const r = new Ring<number>(3);
    for (let i = 1; i <= 5; i++) r.push(i);
    expect(r.toArray()).toEqual([3, 4, 5]);
    expect(r.toArray(2)).toEqual([4, 5]);
  });

  it('tracer records parent/child spans with status', async () => {
    let t = 1000;
    const tracer = new Tracer(() => 'n1', 10, () => t);
    await tracer.trace('dial', async (span) => {
      const c = span.child('resolve');
      t += 5;
      c.end();
      span.set('peer', 7);
    });
    await expect(tracer.trace('ping', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    const spans = tracer.list();
    expect(spans.map((s) => s.name)).toEqual(['resolve', 'dial', 'ping']);
    expect(spans[0]!.parentId).toBe(spans[1]!.spanId);
    expect(spans[0]!.traceId).toBe(spans[1]!.traceId);
    expect(spans[0]!.durationMs).toBe(5);
    expect(spans[2]).toMatchObject({ status: 'error', attrs: { error: 'boom' } });
  });

  it('log ring filters by level and peer', () => {
    const ring = new LogRing(100);
    const log = createLogger({ level: 'debug', sinks: [ring.sink] });
    log.debug('a', { peer: 1 });
    log.warn('b', { peer: 2 });
    log.error('c', { peer: 1 });
    expect(ring.tail({ level: 'warn' }).map((l) => l.msg)).toEqual(['b', 'c']);
    expect(ring.tail({ peer: 1 }).map((l) => l.msg)).toEqual(['a', 'c']);
  });
});
