import { AsyncLocalStorage } from 'node:async_hooks';
import { context, ROOT_CONTEXT, trace, type Context, type ContextManager } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { NOOP_SPAN, Tracer } from './tracer';
import { formatTraceparent } from './traceparent';

/** The agent's side: an AsyncLocalStorage context manager, as @opentelemetry/context-async-hooks provides. */
class AlsContextManager implements ContextManager {
  private readonly als = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.als.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.als.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    return this;
  }
}

describe('tracer', () => {
  afterEach(() => {
    context.disable();
  });

  it('keeps at most its capacity of spans: 100,000 spans leave the ring at capacity, oldest dropped', () => {
    const tracer = new Tracer(() => 'n', { capacity: 1000 });
    for (let i = 0; i < 100_000; i++) {
      const s = tracer.start('req', undefined, { i });
      s.set('big', 'x'.repeat(10_000)); // truncated by the span limits
      if (i % 100 === 0) for (let e = 0; e < 40; e++) s.event('e'); // capped by the span limits
      s.end();
    }
    expect(tracer.size).toBe(1000);
    const spans = tracer.list(5000);
    expect(spans).toHaveLength(1000);
    expect(spans[0]!.attrs.i).toBe(99_000);
    expect(spans[999]!.attrs.i).toBe(99_999);
    expect(String(spans[0]!.attrs.big).length).toBeLessThanOrEqual(512);
    expect(spans[0]!.events).toHaveLength(32); // span 99,000 got 40 events
  });

  it('an explicit remote traceparent is the parent', () => {
    const tracer = new Tracer(() => 'n');
    const tp = formatTraceparent({ traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8) });
    tracer.start('task.execute', tp, undefined, 'server').end();
    const [v] = tracer.list();
    expect(v).toMatchObject({ traceId: 'ab'.repeat(16), parentId: 'cd'.repeat(8), remoteParent: true, kind: 'server', node: 'n' });
  });

  it('an invalid traceparent starts a new trace instead of throwing', () => {
    const tracer = new Tracer(() => 'n');
    tracer.start('x', '00-zz-yy-01').end();
    tracer.start('y', { traceId: '', spanId: '' }).end();
    const [a, b] = tracer.list();
    expect(a!.parentId).toBeUndefined();
    expect(b!.parentId).toBeUndefined();
    expect(a!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(a!.traceId).not.toBe(b!.traceId);
  });

  it("an agent's active OTel span becomes the parent when none is given; an explicit parent wins", () => {
    context.setGlobalContextManager(new AlsContextManager());
    const agentProvider = new BasicTracerProvider();
    const agentSpan = agentProvider.getTracer('agent').startSpan('agent.work');
    const tracer = new Tracer(() => 'n');
    const explicit = formatTraceparent({ traceId: '12'.repeat(16), spanId: '34'.repeat(8) });
    context.with(trace.setSpan(context.active(), agentSpan), () => {
      tracer.start('node.call').end();
      tracer.start('node.remote', explicit).end();
    });
    tracer.start('outside').end();
    const [inside, remote, outside] = tracer.list();
    expect(inside!.traceId).toBe(agentSpan.spanContext().traceId);
    expect(inside!.parentId).toBe(agentSpan.spanContext().spanId);
    expect(remote!.traceId).toBe('12'.repeat(16));
    expect(outside!.traceId).not.toBe(agentSpan.spanContext().traceId);
    expect(outside!.parentId).toBeUndefined();
  });

  it('withSpan makes a node span the active context for code written against the OTel API', () => {
    context.setGlobalContextManager(new AlsContextManager());
    const tracer = new Tracer(() => 'n');
    const root = tracer.start('root');
    tracer.withSpan(root, () => {
      const s = trace.getTracer('agent-lib').startSpan('lib.op'); // the global provider is a no-op: context only
      expect(s.spanContext().traceId).toBe(root.traceId);
      tracer.start('inner').end();
    });
    root.end();
    const inner = tracer.list().find((s) => s.name === 'inner')!;
    expect(inner.parentId).toBe(root.spanId);
  });

  it('children, events, status and listeners', () => {
    let t = 1000;
    const tracer = new Tracer(() => 'n', { now: () => t, address: () => '0:0000.0000.0007' });
    const seen: string[] = [];
    const off = tracer.onSpan((s) => seen.push(s.name));
    tracer.onSpan(() => {
      throw new Error('a broken listener is not the span owner’s problem');
    });
    const dial = tracer.start('dial', undefined, undefined, 'client');
    const punch = dial.child('punch');
    t += 3;
    punch.event('attempt', { n: 1 });
    punch.fail(new Error('no answer'));
    dial.end();
    off();
    tracer.start('later').end();
    expect(seen).toEqual(['punch', 'dial']);
    const [p, d] = tracer.byTrace(dial.traceId);
    expect(p).toMatchObject({ name: 'punch', parentId: dial.spanId, status: 'error', statusMessage: 'no answer', attrs: { error: 'no answer' }, durationMs: 3, nodeAddr: '0:0000.0000.0007' });
    expect(p!.events).toEqual([{ name: 'attempt', timeMs: 1003, attrs: { n: 1 } }]);
    expect(p!.remoteParent).toBeUndefined();
    expect(d).toMatchObject({ name: 'dial', kind: 'client', status: 'ok' });
    expect(punch.traceparent()).toBe(`00-${dial.traceId}-${punch.spanId}-01`);
  });

  it('switched off: the no-op span, nothing recorded', async () => {
    const tracer = new Tracer(() => 'n', { enabled: false });
    const s = tracer.start('x');
    expect(s).toBe(NOOP_SPAN);
    expect(s.child('y')).toBe(NOOP_SPAN);
    expect(s.traceparent()).toBeUndefined();
    await expect(tracer.trace('z', async () => 5)).resolves.toBe(5);
    expect(tracer.list()).toEqual([]);
  });
});
