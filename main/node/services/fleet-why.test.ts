import { describe, it, expect } from 'vitest';
import type { SpanView } from '../../../shared/contract';
import { endpointsTried, whyThisPath } from './fleet-why';

const T = 'ef'.repeat(16);
const establish = (attrs: SpanView['attrs'], events: NonNullable<SpanView['events']>, o: Partial<SpanView> = {}): SpanView => ({
  traceId: T,
  spanId: 'e',
  node: 'n',
  name: 'tunnel.establish',
  startMs: 10_000,
  durationMs: 900,
  status: 'ok',
  attrs: { 'peer.node_id': 7, ...attrs },
  events,
  ...o,
});
const tried = (endpoint: string, source: string, atMs: number): NonNullable<SpanView['events']>[number] => ({ name: 'endpoint.tried', timeMs: 10_000 + atMs, attrs: { endpoint, source, at_ms: atMs } });

describe('why this path: the endpoints a dial tried', () => {
  it('the registered endpoint answered: one endpoint, its timing, the step before the key exchange', () => {
    const e = establish({ path: 'direct', establish_ms: 3, endpoint: '127.0.0.1:4001' }, [tried('127.0.0.1:4001', 'registry', 0)], { durationMs: 3 });
    expect(endpointsTried(e)).toEqual([{ endpoint: '127.0.0.1:4001', source: 'registry', atMs: 0, outcome: 'answered', answeredAfterMs: 3 }]);
    const w = whyThisPath({ nodeId: 7, path: 'direct', pathChanges: 1, spans: [e, { ...e, spanId: 'k', parentId: 'e', name: 'key_exchange', startMs: 10_000, durationMs: 3, attrs: {}, events: [] }] });
    expect(w.steps.map((s) => s.stage)).toEqual(['nat', 'establish', 'endpoints', 'key_exchange', 'established', 'now']);
    const step = w.steps.find((s) => s.stage === 'endpoints')!;
    expect(step).toMatchObject({ title: 'Endpoints tried: 1', status: 'ok', atMs: 0 });
    expect(step.detail).toBe('127.0.0.1:4001: the registered endpoint (from the registry), tried at 0 ms; answered, the tunnel up 3 ms later');
  });

  it('a punch: the registered endpoint got no answer, the one the beacon observed did', () => {
    const e = establish({ path: 'punched', establish_ms: 450, endpoint: '198.51.100.9:61000' }, [tried('192.0.2.5:4000', 'registry', 0), tried('198.51.100.9:61000', 'beacon', 320), tried('198.51.100.9:61000', 'beacon', 400)]);
    const t = endpointsTried(e);
    expect(t).toEqual([
      { endpoint: '192.0.2.5:4000', source: 'registry', atMs: 0, outcome: 'no_answer' },
      { endpoint: '198.51.100.9:61000', source: 'beacon', atMs: 320, outcome: 'answered', answeredAfterMs: 130 },
    ]);
    const step = whyThisPath({ nodeId: 7, path: 'punched', pathChanges: 1, spans: [e] }).steps.find((s) => s.stage === 'endpoints')!;
    expect(step.title).toBe('Endpoints tried: 2');
    expect(step.detail.split('\n')).toEqual([
      '192.0.2.5:4000: the registered endpoint (from the registry), tried at 0 ms; no answer from it (the peer answered from elsewhere)',
      '198.51.100.9:61000: the endpoint the beacon observed for the peer (named in its punch command), tried at 320 ms; answered, the tunnel up 130 ms later',
    ]);
  });

  it('a port-keeping NAT: the punch command names the registered endpoint again, which then answers; said once, with both times', () => {
    const e = establish({ path: 'punched', establish_ms: 420, endpoint: '198.51.100.9:4000' }, [tried('198.51.100.9:4000', 'registry', 0), tried('198.51.100.9:4000', 'beacon', 310), tried('198.51.100.9:4000', 'beacon', 350)]);
    expect(endpointsTried(e)).toEqual([{ endpoint: '198.51.100.9:4000', source: 'registry', atMs: 0, outcome: 'answered', answeredAfterMs: 420, againBy: [{ source: 'beacon', atMs: 310 }] }]);
    const step = whyThisPath({ nodeId: 7, path: 'punched', pathChanges: 1, spans: [e] }).steps.find((s) => s.stage === 'endpoints')!;
    expect(step.title).toBe('Endpoints tried: 1');
    expect(step.detail).toBe("198.51.100.9:4000: the registered endpoint (from the registry), tried at 0 ms; named again by the beacon's punch command at 310 ms; answered, the tunnel up 420 ms later");
  });

  it('times count from the dial’s start: the registry lookup before the tunnel layer started shifts them all', () => {
    // The lookup took 60 ms; the tunnel layer's at_ms (0, 250) and establish_ms (290) count from then.
    const e = establish({ path: 'punched', establish_ms: 290, endpoint: '198.51.100.9:61000' }, [
      { name: 'endpoint.tried', timeMs: 10_060, attrs: { endpoint: '192.0.2.5:4000', source: 'registry', at_ms: 0 } },
      { name: 'endpoint.tried', timeMs: 10_310, attrs: { endpoint: '198.51.100.9:61000', source: 'beacon', at_ms: 250 } },
    ]);
    expect(endpointsTried(e)).toEqual([
      { endpoint: '192.0.2.5:4000', source: 'registry', atMs: 60, outcome: 'no_answer' },
      { endpoint: '198.51.100.9:61000', source: 'beacon', atMs: 310, outcome: 'answered', answeredAfterMs: 40 },
    ]);
  });

  it('relayed: none answered, said so; a failed dial with no answer is an error', () => {
    const relayed = establish({ path: 'relay', establish_ms: 2600 }, [tried('192.0.2.5:4000', 'registry', 0), tried('198.51.100.9:61000', 'beacon', 300)]);
    const step = whyThisPath({ nodeId: 7, path: 'relay', pathChanges: 1, spans: [relayed] }).steps.find((s) => s.stage === 'endpoints')!;
    expect(step).toMatchObject({ title: 'Endpoints tried: 2, none answered', status: 'info' });
    expect(step.detail).toContain('none answered directly: the beacon relays the tunnel');
    expect(endpointsTried(relayed).every((x) => x.outcome === 'no_answer')).toBe(true);
    const failed = establish({}, [tried('192.0.2.5:4000', 'known', 0)], { status: 'error', statusMessage: 'unreachable' });
    const f = whyThisPath({ nodeId: 7, path: undefined, pathChanges: 0, spans: [failed] }).steps.find((s) => s.stage === 'endpoints')!;
    expect(f).toMatchObject({ status: 'error' });
    expect(f.detail).toContain('the endpoint this node already knew');
  });

  it('a trace from before endpoints were recorded: no endpoints step', () => {
    const old = establish({ path: 'direct', establish_ms: 3 }, []);
    expect(whyThisPath({ nodeId: 7, path: 'direct', pathChanges: 1, spans: [old] }).steps.map((s) => s.stage)).not.toContain('endpoints');
  });
});
