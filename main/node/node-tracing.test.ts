import { describe, expect, it } from 'vitest';
import { Tracer } from '../observe/tracer';
import { DialTracing } from './node-tracing';

describe('dial spans', () => {
  const setup = (): { tracer: Tracer; dials: DialTracing; tick: (ms: number) => void } => {
    let t = 1_000_000;
    const tracer = new Tracer(() => 'n', { now: () => t });
    return { tracer, dials: new DialTracing(tracer, () => t), tick: (ms) => (t += ms) };
  };

  it('punch, relay fallback with its reason, established over the relay, then the later upgrade in the same trace', () => {
    const { tracer, dials, tick } = setup();
    const parent = tracer.start('task.submit');
    const est = dials.begin(7, parent)!;
    expect(dials.begin(7, parent)).toBeUndefined(); // a second caller waits on the same establishment
    dials.keyExchange(7);
    tick(300);
    dials.stage({ stage: 'punch_request', nodeId: 7, elapsedMs: 300 });
    tick(1700);
    dials.stage({ stage: 'relay_fallback', nodeId: 7, elapsedMs: 2000, reason: 'no_direct_answer' });
    tick(50);
    dials.stage({ stage: 'established', nodeId: 7, elapsedMs: 2050, path: 'relay' });
    dials.end(7, est);
    tick(10_000);
    dials.pathChanged({ type: 'path_changed', nodeId: 7, from: 'relay', to: 'punched' });
    dials.pathChanged({ type: 'path_changed', nodeId: 7, from: 'relay', to: 'punched' }); // once only
    const spans = tracer.byTrace(parent.traceId);
    const by = (n: string) => spans.filter((s) => s.name === n);
    const [kx] = by('key_exchange');
    expect(by('tunnel.establish')[0]).toMatchObject({ parentId: parent.spanId, attrs: { path: 'relay', establish_ms: 2050, 'peer.node_id': 7 }, status: 'ok', durationMs: 2050 });
    expect(kx).toMatchObject({ parentId: est.spanId, durationMs: 2050 });
    expect(by('punch')[0]).toMatchObject({ parentId: kx!.spanId, status: 'error', durationMs: 1700, attrs: { 'punch.after_ms': 300, 'punch.outcome': 'no direct path' } });
    expect(by('relay')[0]).toMatchObject({ parentId: kx!.spanId, status: 'ok', durationMs: 50, attrs: { 'relay.reason': 'no_direct_answer', 'relay.after_ms': 2000 } });
    expect(by('tunnel.upgrade')).toHaveLength(1);
    expect(by('tunnel.upgrade')[0]).toMatchObject({ parentId: est.spanId, attrs: { path: 'punched', 'relay.duration_ms': 10_050 } });
  });

  it('a punched path ends the punch span with its outcome; a failure fails every open stage', () => {
    const { tracer, dials, tick } = setup();
    const a = dials.begin(8, undefined)!;
    dials.keyExchange(8);
    dials.stage({ stage: 'punch_request', nodeId: 8, elapsedMs: 300 });
    tick(20);
    dials.stage({ stage: 'established', nodeId: 8, elapsedMs: 320, path: 'punched' });
    dials.end(8, a);
    expect(tracer.byTrace(a.traceId).find((s) => s.name === 'punch')).toMatchObject({ status: 'ok', attrs: { 'punch.outcome': 'punched' } });

    const b = dials.begin(9, undefined)!;
    dials.keyExchange(9);
    dials.stage({ stage: 'relay_fallback', nodeId: 9, elapsedMs: 0, reason: 'no_endpoint' });
    dials.stage({ stage: 'failed', nodeId: 9, elapsedMs: 30_000, error: 'no key exchange' });
    dials.end(9, b, new Error('no key exchange'));
    const spans = tracer.byTrace(b.traceId);
    expect(spans.map((s) => [s.name, s.status])).toEqual([
      ['relay', 'error'],
      ['key_exchange', 'error'],
      ['tunnel.establish', 'error'],
    ]);
    expect(spans[0]!.attrs['relay.reason']).toBe('no_endpoint');
    // Stages for a peer nobody is establishing (an inbound key exchange) are ignored.
    dials.stage({ stage: 'punch_request', nodeId: 10, elapsedMs: 1 });
    expect(tracer.list().some((s) => s.attrs['peer.node_id'] === 10)).toBe(false);
  });
});
