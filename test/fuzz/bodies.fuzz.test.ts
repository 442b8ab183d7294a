/**
 * Property-based fuzzing of the JSON bodies that cross a trust boundary (issue 10, "Fuzzing"):
 * registry requests (any JSON a TCP client sends reaches RegistryState.handle) and console request
 * envelopes (what a browser sends over the WebSocket, or a driver over the IPC extension command,
 * reaches dispatchRequest). Inputs are valid requests with fields replaced by hostile values, fields
 * removed or added, and random JSON. Neither may throw; the registry answers every request with a
 * typed reply whose error code is never `internal` (that code is what a handler's TypeError becomes);
 * the console answers every envelope, and only a request that passed validation reaches the service.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { METHOD_NAMES, methodSchemas, type MethodArgs, type MethodName, type MethodResult } from '../../shared/contract';
import { getCrypto, Identity } from '../../main/crypto';
import { challenge } from '../../main/crypto/signatures';
import { makeVerifier, RegistryState } from '../../main/backbone';
import type { ConsoleService } from '../../main/api/service';
import { dispatchRequest } from '../../main/api/dispatch';
import { MAX_FRAME } from '../../main/wire/framing';
import { FUZZ_RUNS, FUZZ_TIMEOUT } from './mutate';

const params = { numRuns: FUZZ_RUNS };
vi.setConfig({ testTimeout: FUZZ_TIMEOUT });

/** JSON values that break naive field handling: out-of-range and fractional numbers, huge strings, wrong types. */
const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(0, -1, 1.5, -0, 0xffffffff, 2 ** 32, 2 ** 53, -(2 ** 53), 1e308, -1e308, 5e-324, '', ' ', '0', '-1', 'NaN', null, true, false, [], {}, [null], { length: 1e9 }, 'x'.repeat(70_000), '\u0000', '\ud800', 'constructor', '__proto__', 'toString'),
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ maxLength: 80 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

type Obj = Record<string, unknown>;
type ObjMutation = { op: 'set'; key: string; value: unknown } | { op: 'delete'; key: string } | { op: 'set_any'; key: string; value: unknown };

/** Replaces, removes or adds fields of a template; `set` keys come from the template (or `type`). */
function mutateObject(template: Obj, muts: readonly ObjMutation[]): Obj {
  const keys = [...Object.keys(template), 'type'];
  const out: Obj = JSON.parse(JSON.stringify(template)) as Obj;
  for (const m of muts) {
    const key = m.op === 'set_any' ? m.key : keys[[...m.key].reduce((h, c) => h + c.charCodeAt(0), 0) % keys.length]!;
    if (m.op === 'delete') delete out[key];
    // defineProperty: a key named "__proto__" must become an own field, as JSON.parse makes it.
    else Object.defineProperty(out, key, { value: m.value, enumerable: true, writable: true, configurable: true });
  }
  // What crosses the wire is JSON: round-trip so the handler sees exactly what a socket would give it.
  return JSON.parse(JSON.stringify(out)) as Obj;
}

const objMutation: fc.Arbitrary<ObjMutation> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('set' as const), key: fc.string({ maxLength: 4 }), value: hostile }), weight: 5 },
  { arbitrary: fc.record({ op: fc.constant('delete' as const), key: fc.string({ maxLength: 4 }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('set_any' as const), key: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'prototype', 'hasOwnProperty')), value: hostile }), weight: 1 },
);

// ---- registry ----------------------------------------------------------------------------------

describe('fuzz: registry request bodies (RegistryState.handle)', () => {
  const crypto = getCrypto();
  const T0 = 1_700_000_000_000;
  const ctx = { sourceIp: '198.51.100.7', sourcePort: 40000, now: T0 };
  let state: RegistryState;
  let a: Identity;
  let b: Identity;
  let ida = 0;
  let idb = 0;
  let templates: Obj[] = [];

  beforeAll(() => {
    state = new RegistryState({ verify: makeVerifier(crypto), now: T0, registerRatePerMin: 1_000_000 });
    a = Identity.generate(crypto);
    b = Identity.generate(crypto);
    const reg = (id: Identity, hostname: string): number => {
      const r = state.handle({ type: 'register', listen_addr: '0.0.0.0:4000', public_key: id.publicKeyBase64, hostname }, ctx);
      if (!('type' in r) || r.type !== 'register_ok') throw new Error(`register failed: ${JSON.stringify(r)}`);
      return r['node_id'] as number;
    };
    ida = reg(a, 'fuzz-a');
    idb = reg(b, 'fuzz-b');
    const s = (text: string): string => a.signText(text);
    // One valid request of every type (signed by node a where the registry checks a signature).
    templates = [
      { type: 'register', listen_addr: '0.0.0.0:4001', public_key: Identity.generate(crypto).publicKeyBase64, hostname: 'fuzz-c', owner: 'o@example.com' },
      { type: 'heartbeat', node_id: ida, signature: s(challenge.heartbeat(ida)) },
      { type: 'lookup', node_id: idb },
      { type: 'resolve', node_id: idb, requester_id: ida, signature: s(challenge.resolve(ida, idb)) },
      { type: 'set_visibility', node_id: ida, public: true, signature: s(challenge.setVisibility(ida)) },
      { type: 'set_hostname', node_id: ida, hostname: 'fuzz-a2', signature: s(challenge.setHostname(ida)) },
      { type: 'resolve_hostname', hostname: 'fuzz-b' },
      { type: 'set_tags', node_id: ida, tags: ['web', '#api'], signature: s(challenge.setTags(ida)) },
      { type: 'set_task_exec', node_id: ida, enabled: true, signature: s(challenge.setTaskExec(ida)) },
      { type: 'report_trust', node_id: ida, peer_id: idb, signature: s(challenge.reportTrust(ida, idb)) },
      { type: 'revoke_trust', node_id: ida, peer_id: idb, signature: s(challenge.revokeTrust(ida, idb)) },
      { type: 'request_handshake', from_node_id: ida, to_node_id: idb, justification: 'hi', signature: s(challenge.handshake(ida, idb)) },
      { type: 'poll_handshakes', node_id: ida, signature: s(challenge.pollHandshakes(ida)) },
      { type: 'respond_handshake', node_id: ida, peer_id: idb, accept: true, signature: s(challenge.respond(ida, idb)) },
      { type: 'punch', requester_id: ida, node_a: ida, node_b: idb, signature: s(challenge.punch(ida, idb)) },
      { type: 'get_polo_score', node_id: idb },
      { type: 'update_polo_score', node_id: idb, delta: 1 },
      { type: 'set_polo_score', node_id: idb, polo_score: 5 },
      { type: 'beacon_register', beacon_id: 9, addr: '127.0.0.1:9001' },
      { type: 'beacon_list' },
      { type: 'list_networks' },
      { type: 'list_nodes', network_id: 0 },
      { type: 'create_network', node_id: ida, name: 'fuzz-net', join_rule: 'open', signature: s(`create_network:${ida}`) },
      { type: 'join_network', node_id: ida, network_id: 1, signature: s(`join_network:${ida}:1`) },
      { type: 'leave_network', node_id: ida, network_id: 1, signature: s(`leave_network:${ida}:1`) },
      { type: 'find_nodes', node_id: ida, tag: 'web', signature: s(`find_nodes:${ida}`) },
      { type: 'rotate_key', node_id: idb, new_public_key: Identity.generate(crypto).publicKeyBase64, signature: b.signText(challenge.rotate(idb)) },
      { type: 'deregister', node_id: idb, signature: b.signText(challenge.deregister(idb)) },
    ];
  });

  function check(req: unknown): void {
    const out = state.handle(req, ctx);
    state.takeRecords();
    state.takeEvents();
    if (!('type' in out)) {
      expect(out.close).toBe(true);
      return;
    }
    expect(typeof out.type).toBe('string');
    if (out.type === 'error') expect(out['code'], JSON.stringify(out)).not.toBe('internal');
    expect(JSON.stringify(out).length).toBeLessThan(MAX_FRAME);
  }

  it('every template is a request the registry knows (none answers "unknown message type")', () => {
    for (const t of templates) {
      const out = state.handle(t, ctx);
      expect('type' in out && out.type === 'error' && String(out['hint']).startsWith('unknown message type')).toBe(false);
    }
  });

  it('valid requests with fields replaced, removed or added: a typed reply, never an internal error', () => {
    fc.assert(
      fc.property(fc.nat(), fc.array(objMutation, { maxLength: 4 }), (i, muts) => check(mutateObject(templates[i % templates.length]!, muts))),
      params,
    );
  });

  it('random JSON values (objects, arrays, scalars): a typed reply or a close, never an internal error', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => check(v)), params);
  });

  it('"__proto__" and "constructor" keys in a request pollute nothing', () => {
    for (const t of templates) {
      const text = JSON.stringify(t).replace(/^\{/, '{"__proto__":{"polluted":1,"type":"x"},"constructor":{"prototype":{"polluted":1}},');
      check(JSON.parse(text));
    }
    expect((Object.prototype as Obj)['polluted']).toBeUndefined();
    expect(({} as Obj)['polluted']).toBeUndefined();
  });
});

// ---- console envelopes -------------------------------------------------------------------------

describe('fuzz: console request envelopes (dispatchRequest)', () => {
  const reached: { method: MethodName; args: unknown }[] = [];
  const service: ConsoleService = {
    call<M extends MethodName>(method: M, args: MethodArgs<M>): Promise<MethodResult<M>> {
      reached.push({ method, args });
      return Promise.resolve([] as unknown as MethodResult<M>);
    },
    on: () => () => undefined,
  };

  const envelope: fc.Arbitrary<unknown> = fc.oneof(
    {
      arbitrary: fc.record(
        {
          id: fc.oneof(fc.nat(), hostile),
          method: fc.oneof(fc.constantFrom(...METHOD_NAMES), fc.string({ maxLength: 70 }), hostile),
          params: fc.oneof(fc.dictionary(fc.string({ maxLength: 10 }), hostile, { maxKeys: 5 }), hostile),
        },
        { requiredKeys: [] },
      ),
      weight: 4,
    },
    {
      arbitrary: fc
        .tuple(fc.nat(), fc.constantFrom(...METHOD_NAMES), fc.array(objMutation, { maxLength: 3 }))
        .map(([id, method, muts]) => mutateObject({ id, method, params: {} }, muts)),
      weight: 2,
    },
    { arbitrary: fc.jsonValue({ maxDepth: 4 }), weight: 1 },
  );

  it('every envelope gets one response with the request id (or -1); only valid calls reach the service', async () => {
    await fc.assert(
      fc.asyncProperty(envelope, async (raw) => {
        reached.length = 0;
        const r = await dispatchRequest(service, raw);
        expect(typeof r.id).toBe('number');
        if (!r.ok) {
          expect(['invalid_argument', 'not_found']).toContain(r.error.code);
          expect(reached).toHaveLength(0);
        } else {
          expect(reached).toHaveLength(1);
          const { method, args } = reached[0]!;
          expect(methodSchemas[method].safeParse(args).success).toBe(true);
        }
        expect(() => JSON.stringify(r)).not.toThrow();
      }),
      params,
    );
  });

  it('deeply nested params (10,000 levels) are answered, not a stack overflow', async () => {
    const deep = JSON.parse(`{"id":1,"method":"peers.ping","params":${'['.repeat(10_000)}${']'.repeat(10_000)}}`) as unknown;
    const r = await dispatchRequest(service, deep);
    expect(r).toMatchObject({ id: 1, ok: false });
  });
});
