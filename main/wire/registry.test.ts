import { describe, it, expect } from 'vitest';
import {
  REGISTRY_REQUEST_TYPES,
  decodeRegistryEvent,
  decodeRegistryReply,
  errorReply,
  extensionChallenge,
  isRegistryRequestType,
  parseRegistryRequest,
  replySchemas,
  requestSchemas,
} from './registry';

const KEY = 'A'.repeat(43) + '=';

describe('registry codec: requests', () => {
  it('has a request schema and a reply schema for the same message types', () => {
    expect(Object.keys(replySchemas).sort()).toEqual(Object.keys(requestSchemas).sort());
    expect(REGISTRY_REQUEST_TYPES).toHaveLength(29);
  });

  it('knows only its own message types (not prototype keys)', () => {
    expect(isRegistryRequestType('lookup')).toBe(true);
    for (const t of ['__proto__', 'constructor', 'toString', 'subscribe_replication', 'LOOKUP', 5, undefined]) {
      expect(isRegistryRequestType(t)).toBe(false);
    }
  });

  it('reads ids like the reference (out of range or not a number → 0, fractions truncated) and fills Go defaults', () => {
    const r = (node_id: unknown): unknown => parseRegistryRequest('heartbeat', { node_id });
    expect(r(7.9)).toEqual({ ok: true, request: { node_id: 7, signature: '' } });
    for (const bad of [-1, 2 ** 32, '7', null, [7], undefined]) expect(r(bad)).toEqual({ ok: true, request: { node_id: 0, signature: '' } });
    expect(parseRegistryRequest('list_nodes', { network_id: 70_000 })).toEqual({ ok: true, request: { network_id: 0 } });
    expect(parseRegistryRequest('create_network', { node_id: 1, name: 'x' })).toMatchObject({ ok: true, request: { join_rule: 'open', token: '' } });
  });

  it('names the first bad field in the hint', () => {
    expect(parseRegistryRequest('set_polo_score', { node_id: 1 })).toEqual({ ok: false, hint: expect.stringMatching(/^polo_score: /) });
    expect(parseRegistryRequest('find_nodes', { limit: 0 })).toEqual({ ok: false, hint: expect.stringMatching(/^limit: /) });
    expect(parseRegistryRequest('find_nodes', { tags: Array(65).fill('a') })).toEqual({ ok: false, hint: expect.stringMatching(/^tags: /) });
  });

  it('builds the extension challenges with decimal ids', () => {
    expect(extensionChallenge.createNetwork(12)).toBe('create_network:12');
    expect(extensionChallenge.joinNetwork(12, 3)).toBe('join_network:12:3');
    expect(extensionChallenge.leaveNetwork(12, 3)).toBe('leave_network:12:3');
    expect(extensionChallenge.subscribeEvents(4294967295)).toBe('subscribe_events:4294967295');
    expect(extensionChallenge.findNodes(1)).toBe('find_nodes:1');
    expect(() => extensionChallenge.findNodes(-1)).toThrow(RangeError);
  });
});

describe('registry codec: replies', () => {
  const lookup = { type: 'lookup_ok', node_id: 7, address: '0:0000.0000.0007', networks: [0, 3], public_key: KEY, public: true, polo_score: -3 };

  it('accepts a valid reply and drops unknown fields', () => {
    expect(decodeRegistryReply('lookup', { ...lookup, surprise: { deep: true } })).toEqual({ kind: 'ok', reply: lookup });
    expect(decodeRegistryReply('deregister', { type: 'deregister_ok' })).toEqual({ kind: 'ok', reply: { type: 'deregister_ok' } });
    expect(decodeRegistryReply('set_tags', { type: 'set_tags_ok', node_id: 1, tags: null })).toMatchObject({ kind: 'ok' });
  });

  it('classifies any object with a string error as an error reply, reading bad code/hint as absent', () => {
    expect(decodeRegistryReply('lookup', errorReply('not_found', 'no such node'))).toEqual({
      kind: 'error',
      error: { error: 'request failed', code: 'not_found', hint: 'no such node' },
    });
    expect(decodeRegistryReply('lookup', { error: 'request failed', type: 'error' })).toEqual({ kind: 'error', error: { error: 'request failed' } });
    expect(decodeRegistryReply('lookup', { error: 'x', code: ['a'], hint: 'h'.repeat(3000) })).toEqual({ kind: 'error', error: { error: 'x' } });
  });

  it('reports the first problem, bounded in length', () => {
    expect(decodeRegistryReply('lookup', { ...lookup, type: 'x'.repeat(10_000) })).toEqual({
      kind: 'malformed',
      problem: expect.stringMatching(/^expected lookup_ok, got "x+…$/),
    });
    expect(decodeRegistryReply('lookup', { ...lookup, node_id: 1e10 })).toEqual({ kind: 'malformed', problem: expect.stringMatching(/^node_id: /) });
    expect(decodeRegistryReply('lookup', { ...lookup, public_key: KEY.slice(1) })).toEqual({ kind: 'malformed', problem: expect.stringMatching(/^public_key: /) });
    expect(decodeRegistryReply('lookup', { ...lookup, networks: [0, 1.5] })).toEqual({ kind: 'malformed', problem: expect.stringMatching(/^networks\.1: /) });
    expect(decodeRegistryReply('lookup', { ...lookup, address: '0:0001.0000.0007' })).toEqual({ kind: 'malformed', problem: expect.stringMatching(/^address: /) });
    for (const v of [null, 1, 'lookup_ok', [lookup], true]) expect(decodeRegistryReply('lookup', v)).toMatchObject({ kind: 'malformed' });
    const p = decodeRegistryReply('find_nodes', { type: 'find_nodes_ok', nodes: [{ ...lookup, tags: ['ok', 'NOT OK'.repeat(100)] }] });
    expect(p).toEqual({ kind: 'malformed', problem: expect.stringMatching(/^nodes\.0\.tags\.1: /) });
    expect(JSON.stringify(p).length).toBeLessThan(300);
  });

  it('never rejects what other nodes can put into a registry: any justification, any finite score', () => {
    const poll = { type: 'poll_handshakes_ok', requests: [{ from_node_id: 2, justification: '\u0000'.repeat(100_000), timestamp: 1 }], responses: [] };
    expect(decodeRegistryReply('poll_handshakes', poll)).toMatchObject({ kind: 'ok' });
    expect(decodeRegistryReply('get_polo_score', { type: 'get_polo_score_ok', node_id: 1, address: '0:0000.0000.0001', polo_score: 2 ** 62 })).toMatchObject({ kind: 'ok' });
  });
});

describe('registry codec: events', () => {
  const ev = { type: 'event', event: 'member_joined', time: '2026-01-01T00:00:00.000Z', node_id: 4, network_id: 2, name: 'team' };
  it('accepts a valid event and rejects a malformed one with the reason', () => {
    expect(decodeRegistryEvent(ev)).toEqual({ ok: true, event: ev });
    expect(decodeRegistryEvent({ ...ev, event: 'member_vanished' })).toEqual({ ok: false, problem: expect.stringMatching(/^event: /) });
    expect(decodeRegistryEvent({ ...ev, network_id: -1 })).toEqual({ ok: false, problem: expect.stringMatching(/^network_id: /) });
    expect(decodeRegistryEvent({ ...ev, type: 'lookup_ok' })).toMatchObject({ ok: false });
    expect(decodeRegistryEvent('event')).toMatchObject({ ok: false });
  });
});
