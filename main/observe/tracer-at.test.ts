import { describe, expect, it } from 'vitest';
import { Tracer } from './tracer';

// Spans made after the fact (Tracer.mark + start(..., at)): the node's dial makes the stream span
// after the SYN left, with the dial's start time.
describe('Tracer: a span started after the fact', () => {
  it('keeps the time its work began, on a test clock', () => {
    let t = 1000;
    const tracer = new Tracer(() => 'n', { now: () => t });
    const at = tracer.mark();
    t += 5;
    const s = tracer.start('late', undefined, { k: 1 }, 'client', at);
    t += 2;
    s.end();
    expect(tracer.list()).toEqual([expect.objectContaining({ name: 'late', startMs: 1000, durationMs: 7, kind: 'client', attrs: { k: 1 } })]);
  });

  it('keeps the time its work began, on the real clock', () => {
    const tracer = new Tracer(() => 'n');
    const before = performance.timeOrigin + performance.now();
    const at = tracer.mark();
    const until = performance.now() + 3;
    while (performance.now() < until) {
      // the work the span describes, done before the span is made
    }
    const made = performance.timeOrigin + performance.now();
    tracer.start('late', undefined, undefined, undefined, at).end();
    const [v] = tracer.list();
    // Start at the mark (within OpenTelemetry's clock correction), not when the span was made.
    expect(v!.startMs).toBeGreaterThanOrEqual(before - 1);
    expect(v!.startMs).toBeLessThan(made - 2);
    expect(v!.durationMs).toBeGreaterThanOrEqual(2.9);
  });
});
