/**
 * The server's replies and events conform to the wire codec's schemas (what the client accepts):
 * every message type is driven through RegistryState, each success reply is sent through JSON and
 * decoded with decodeRegistryReply, each pushed event with decodeRegistryEvent.
 */
import { describe, it, expect } from 'vitest';
import { REGISTRY_REQUEST_TYPES, decodeRegistryEvent, decodeRegistryReply, type RegistryRequestType } from '../wire/registry';
import { makeVerifier } from './index';
import { challenge } from './protocol';
import { RegistryState, type Reply } from './registry-state';
import { crypto, newIdentity } from './testing/helpers';

const T0 = 1_700_000_000_000;

describe('registry replies and events against the wire schemas', () => {
  it('every message type: the server reply decodes as its <type>_ok', () => {
    const st = new RegistryState({ verify: makeVerifier(crypto), now: T0 });
    const ctx = { sourceIp: '::ffff:198.51.100.7', sourcePort: 40000, now: T0 };
    const [a, b, c] = [newIdentity(), newIdentity(), newIdentity()];
    const seen = new Set<string>();
    const run = (type: RegistryRequestType, fields: Record<string, unknown>, signer?: typeof a, text?: string): Reply => {
      const msg = { type, ...fields, ...(signer && text ? { signature: signer.signText(text) } : {}) };
      const r = st.handle(msg, ctx);
      if (!('type' in r)) throw new Error(`${type}: connection closed`);
      expect(r, `${type}: ${JSON.stringify(r)}`).not.toMatchObject({ type: 'error' });
      const d = decodeRegistryReply(type, JSON.parse(JSON.stringify(r)) as unknown);
      expect(d, type).toMatchObject({ kind: 'ok' });
      seen.add(type);
      return r;
    };
    const ia = run('register', { listen_addr: ':4000', public_key: a.publicKeyBase64, hostname: 'alpha', behind_nat: true })['node_id'] as number;
    const ib = run('register', { listen_addr: '[::1]:4001', public_key: b.publicKeyBase64, hostname: 'BAD NAME' })['node_id'] as number;
    const ic = run('register', { listen_addr: '', public_key: c.publicKeyBase64, owner: 'own' })['node_id'] as number;
    run('heartbeat', { node_id: ia }, a, challenge.heartbeat(ia));
    run('set_visibility', { node_id: ia, public: true }, a, challenge.setVisibility(ia));
    run('set_hostname', { node_id: ib, hostname: 'beta' }, b, challenge.setHostname(ib));
    run('set_tags', { node_id: ia, tags: ['#gpu', 'eu'] }, a, challenge.setTags(ia));
    run('set_tags', { node_id: ib, tags: [] }, b, challenge.setTags(ib));
    run('set_task_exec', { node_id: ia, enabled: true }, a, challenge.setTaskExec(ia));
    run('lookup', { node_id: ia });
    run('resolve', { node_id: ia, requester_id: ib }, b, challenge.resolve(ib, ia));
    run('resolve_hostname', { hostname: 'alpha' });
    run('report_trust', { node_id: ia, peer_id: ib }, a, challenge.reportTrust(ia, ib));
    run('request_handshake', { from_node_id: ic, to_node_id: ia, justification: 'x'.repeat(5000) }, c, challenge.requestHandshake(ic, ia));
    run('respond_handshake', { node_id: ia, peer_id: ic, accept: false }, a, challenge.respondHandshake(ia, ic));
    run('poll_handshakes', { node_id: ia }, a, challenge.pollHandshakes(ia));
    run('poll_handshakes', { node_id: ic }, c, challenge.pollHandshakes(ic));
    run('revoke_trust', { node_id: ia, peer_id: ib }, a, challenge.revokeTrust(ia, ib));
    run('punch', { requester_id: ib, node_a: ib, node_b: ia }, b, challenge.punch(ib, ia)); // ia is public: visible to ib
    run('get_polo_score', { node_id: ia });
    run('update_polo_score', { node_id: ia, delta: 1e308 });
    run('update_polo_score', { node_id: ia, delta: 1e308 });
    run('set_polo_score', { node_id: ib, polo_score: -7.9 });
    run('beacon_register', { beacon_id: 9, addr: '192.0.2.1:9001' });
    run('beacon_list', {});
    run('create_network', { node_id: ia, name: 'team', join_rule: 'open' }, a, challenge.createNetwork(ia));
    run('join_network', { node_id: ib, network: 'team' }, b, challenge.joinNetwork(ib, 1));
    run('list_networks', {});
    run('list_nodes', { network_id: 1 });
    run('find_nodes', { tags: ['gpu'] });
    run('find_nodes', { requester_id: ib, network: 'team' }, b, challenge.findNodes(ib));
    run('subscribe_events', { node_id: ia }, a, challenge.subscribeEvents(ia));
    run('leave_network', { node_id: ib, network_id: 1 }, b, challenge.leaveNetwork(ib, 1));
    run('rotate_key', { node_id: ic, new_public_key: newIdentity().publicKeyBase64 }, c, challenge.rotateKey(ic));
    run('deregister', { node_id: ia }, a, challenge.deregister(ia));
    expect([...seen].sort()).toEqual([...REGISTRY_REQUEST_TYPES].sort());

    const events = st.takeEvents();
    expect(new Set(events.map((e) => e.event.event))).toEqual(
      new Set(['trust_changed', 'handshake_request', 'handshake_response', 'network_created', 'member_joined', 'member_left']),
    );
    for (const e of events) expect(decodeRegistryEvent(JSON.parse(JSON.stringify(e.event)) as unknown), e.event.event).toMatchObject({ ok: true });
  });

  it('a request that does not match its schema gets invalid_argument with a hint naming the field', () => {
    const st = new RegistryState({ verify: makeVerifier(crypto), now: T0 });
    const call = (msg: Record<string, unknown>): Reply => st.handle(msg, { sourceIp: '192.0.2.1', sourcePort: 1, now: T0 }) as Reply;
    expect(call({ type: 'update_polo_score', node_id: 1, delta: 'lots' })).toEqual({
      type: 'error',
      error: 'request failed',
      code: 'invalid_argument',
      hint: expect.stringMatching(/^delta: /),
    });
    expect(call({ type: 'find_nodes', tags: 'gpu' })).toMatchObject({ code: 'invalid_argument', hint: expect.stringMatching(/^tags: /) });
    expect(call({ type: 'create_network', node_id: 1, name: 'x', join_rule: 'anyone' })).toMatchObject({
      code: 'invalid_argument',
      hint: expect.stringMatching(/^join_rule: /),
    });
    expect(call({ type: 'register', public_key: 42 })).toMatchObject({ code: 'invalid_argument', hint: expect.stringMatching(/^public_key: /) });
    // prototype keys are not message types
    for (const type of ['__proto__', 'constructor', 'hasOwnProperty', 'toString']) {
      expect(call({ type })).toMatchObject({ code: 'invalid_argument', hint: `unknown message type "${type}"` });
    }
  });

  it('polo scores stay safe integers, so replies carry numbers and the snapshot reloads', () => {
    const st = new RegistryState({ verify: makeVerifier(crypto), now: T0 });
    const ctx = { sourceIp: '192.0.2.1', sourcePort: 1, now: T0 };
    const id = (st.handle({ type: 'register', listen_addr: ':1', public_key: newIdentity().publicKeyBase64 }, ctx) as Reply)['node_id'];
    for (let i = 0; i < 3; i++) st.handle({ type: 'update_polo_score', node_id: id, delta: 1e308 }, ctx);
    expect(st.handle({ type: 'get_polo_score', node_id: id }, ctx)).toMatchObject({ polo_score: Number.MAX_SAFE_INTEGER });
    st.handle({ type: 'set_polo_score', node_id: id, polo_score: -1e300 }, ctx);
    const snap = JSON.parse(JSON.stringify(st.snapshot())) as unknown;
    const again = new RegistryState({ verify: makeVerifier(crypto), now: T0 });
    again.restore(snap, [], T0);
    expect(again.handle({ type: 'get_polo_score', node_id: id }, ctx)).toMatchObject({ polo_score: -Number.MAX_SAFE_INTEGER });
  });
});
