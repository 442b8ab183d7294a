/**
 * Registry handlers for trust pairs and relayed handshakes (registry.md §2.3): report_trust,
 * revoke_trust, request_handshake, poll_handshakes, respond_handshake. Trust changes and handshake
 * traffic are also pushed as events to subscribed nodes (extension).
 */
import { INBOX_MAX } from '../wire/registry';
import { challenge } from './protocol';
import { fail, pairKey, type Handlers } from './registry-model';

export const trustHandlers = {
  report_trust: (m, req, ctx) => {
    m.signedNode(req.node_id, challenge.reportTrust(req.node_id, req.peer_id), req.signature);
    m.node(req.peer_id);
    if (req.peer_id === req.node_id) fail('invalid_argument', 'a node cannot trust itself');
    if (m.addTrust(req.node_id, req.peer_id)) {
      m.dTrust.set(pairKey(req.node_id, req.peer_id), true);
      m.emit([req.node_id, req.peer_id], 'trust_changed', ctx.now, { node_id: req.node_id, peer_id: req.peer_id, trusted: true });
    }
    return { type: 'report_trust_ok' };
  },

  revoke_trust: (m, req, ctx) => {
    m.signedNode(req.node_id, challenge.revokeTrust(req.node_id, req.peer_id), req.signature);
    if (!m.delTrust(req.node_id, req.peer_id)) fail('not_found', `no trust pair ${pairKey(req.node_id, req.peer_id)}`);
    m.dTrust.set(pairKey(req.node_id, req.peer_id), false);
    m.emit([req.node_id, req.peer_id], 'trust_changed', ctx.now, { node_id: req.node_id, peer_id: req.peer_id, trusted: false });
    return { type: 'revoke_trust_ok' };
  },

  request_handshake: (m, req, ctx) => {
    m.signedNode(req.from_node_id, challenge.requestHandshake(req.from_node_id, req.to_node_id), req.signature);
    m.node(req.to_node_id);
    const box = m.inbox.get(req.to_node_id) ?? [];
    if (box.length >= INBOX_MAX) fail('unavailable', `node ${req.to_node_id}'s handshake inbox is full (${INBOX_MAX})`);
    if (box.some((r) => r.from === req.from_node_id)) fail('already_exists', `a request from node ${req.from_node_id} is already pending`);
    box.push({ from: req.from_node_id, justification: req.justification, at: ctx.now });
    m.inbox.set(req.to_node_id, box);
    m.dInbox.add(req.to_node_id);
    m.emit([req.to_node_id], 'handshake_request', ctx.now, {
      node_id: req.from_node_id,
      peer_id: req.to_node_id,
      justification: req.justification,
    });
    return { type: 'request_handshake_ok', status: 'delivered' };
  },

  poll_handshakes: (m, req) => {
    m.signedNode(req.node_id, challenge.pollHandshakes(req.node_id), req.signature);
    const reqs = m.inbox.get(req.node_id) ?? [];
    const resps = m.responses.get(req.node_id) ?? [];
    if (reqs.length > 0 || resps.length > 0) {
      m.inbox.delete(req.node_id);
      m.responses.delete(req.node_id);
      m.dInbox.add(req.node_id);
    }
    return {
      type: 'poll_handshakes_ok',
      requests: reqs.map((r) => ({ from_node_id: r.from, justification: r.justification, timestamp: Math.floor(r.at / 1000) })),
      responses: resps.map((r) => ({ from_node_id: r.from, accept: r.accept, timestamp: Math.floor(r.at / 1000) })),
    };
  },

  respond_handshake: (m, req, ctx) => {
    m.signedNode(req.node_id, challenge.respondHandshake(req.node_id, req.peer_id), req.signature);
    if (!m.keyOf.has(req.peer_id)) fail('not_found', `node ${req.peer_id} was never registered`);
    if (req.peer_id === req.node_id) fail('invalid_argument', 'a node cannot answer itself');
    if (req.accept && m.addTrust(req.node_id, req.peer_id)) {
      m.dTrust.set(pairKey(req.node_id, req.peer_id), true);
      m.emit([req.node_id, req.peer_id], 'trust_changed', ctx.now, { node_id: req.node_id, peer_id: req.peer_id, trusted: true });
    }
    const box = m.responses.get(req.peer_id) ?? [];
    box.push({ from: req.node_id, accept: req.accept, at: ctx.now });
    if (box.length > INBOX_MAX) box.splice(0, box.length - INBOX_MAX);
    m.responses.set(req.peer_id, box);
    m.dInbox.add(req.peer_id);
    m.emit([req.peer_id], 'handshake_response', ctx.now, { node_id: req.node_id, peer_id: req.peer_id, accept: req.accept });
    return { type: 'respond_handshake_ok', accept: req.accept, peer_id: req.peer_id };
  },
} satisfies Partial<Handlers>;
