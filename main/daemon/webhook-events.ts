/**
 * Which happenings of our node become webhook events, under the reference's names (services.md,
 * "Webhook") and with the reference's `data` keys where it has them:
 *
 * | event | source | data |
 * |---|---|---|
 * | node.registered / node.reregistered | node `registered` (first / later) | address, endpoint |
 * | node.deregistered | IPC Deregister succeeded (ipc-server.ts) | address |
 * | tunnel.peer_added | tunnel `peer_added` | peer_node_id, endpoint? |
 * | tunnel.established | tunnel `key_exchanged` (PILA: always authenticated) | peer_node_id, authenticated, relay, rekeyed |
 * | tunnel.relay_activated | tunnel `path_changed` to relay | peer_node_id, from |
 * | security.nonce_replay | tunnel frame dropped as a replay | peer_node_id |
 * | conn.syn_received, conn.established | inbound connection accepted (our transport answers the SYN and is established at once, as the reference) | src_addr, src_port, dst_port, conn_id |
 * | conn.fin / conn.rst / conn.idle_timeout | connection closed: fin / rst or refused / idle | remote_addr, remote_port, local_port, conn_id |
 * | data.datagram | datagram received | src_addr, src_port, dst_port, size |
 * | handshake.received/pending/approved/rejected/auto_approved | trust service `activity` | peer_node_id, justification / reason |
 * | trust.revoked / trust.revoked_by_peer | trust service `activity` | peer_node_id (+ reason from the peer) |
 * | pubsub.subscribed / unsubscribed / published | event stream service (port 1002) | topic, remote / topic, size, from |
 * | file.received / message.received | data exchange service (port 1001) | filename, size, path, from / type, from, size |
 *
 * Not emitted: `security.syn_rate_limited` — the transport's connection table drops a SYN over the
 * rate limit silently, with neither a hook nor a counter to read (that needs a change in
 * main/transport).
 */
import { formatAddress } from '../../shared/address';
import type { ConnEvent, DatagramMessage, PilotNode } from '../node/node';
import type { TunnelEvent } from '../node/tunnels';
import type { FileEvent, MessageEvent, Services, TrustActivity } from '../node/services';

export const WEBHOOK_EVENT_NAMES = [
  'node.registered',
  'node.reregistered',
  'node.deregistered',
  'tunnel.established',
  'tunnel.peer_added',
  'tunnel.relay_activated',
  'conn.syn_received',
  'conn.established',
  'conn.fin',
  'conn.rst',
  'conn.idle_timeout',
  'data.datagram',
  'handshake.received',
  'handshake.pending',
  'handshake.approved',
  'handshake.rejected',
  'handshake.auto_approved',
  'trust.revoked',
  'trust.revoked_by_peer',
  'pubsub.subscribed',
  'pubsub.unsubscribed',
  'pubsub.published',
  'file.received',
  'message.received',
  'security.nonce_replay',
  'security.syn_rate_limited',
] as const;

/** The reference's event names (`security.syn_rate_limited` has no source here: see the header). */
export type WebhookEventName = (typeof WEBHOOK_EVENT_NAMES)[number];

/** Where events go (a WebhookPoster). While it is not `enabled` no event data is even built. */
export interface WebhookSink {
  readonly enabled: boolean;
  emit(event: WebhookEventName, data?: Record<string, unknown>): unknown;
}

/**
 * Forwards the node's own events. Call before `node.start()` so the first registration is
 * reported. Returns the function that detaches the listeners.
 */
export function forwardNodeEvents(sink: WebhookSink, node: PilotNode): () => void {
  let registrations = 0;
  const onRegistered = (_id: number, endpoint: string): void => {
    registrations++;
    if (!sink.enabled) return;
    sink.emit(registrations === 1 ? 'node.registered' : 'node.reregistered', { address: formatAddress(node.address), endpoint });
  };
  const onTunnel = (ev: TunnelEvent): void => {
    if (!sink.enabled) return;
    switch (ev.type) {
      case 'peer_added': {
        const endpoint = node.tunnelInfo(ev.nodeId)?.endpoint;
        sink.emit('tunnel.peer_added', { peer_node_id: ev.nodeId, ...(endpoint ? { endpoint } : {}) });
        return;
      }
      case 'key_exchanged':
        sink.emit('tunnel.established', { peer_node_id: ev.nodeId, authenticated: node.tunnelInfo(ev.nodeId)?.authenticated ?? true, relay: ev.relayed, rekeyed: ev.rekey });
        return;
      case 'path_changed':
        if (ev.to === 'relay') sink.emit('tunnel.relay_activated', { peer_node_id: ev.nodeId, from: ev.from });
        return;
      case 'dropped':
        if (ev.reason === 'replay' && ev.nodeId !== undefined) sink.emit('security.nonce_replay', { peer_node_id: ev.nodeId });
        return;
    }
  };
  const onConn = (ev: ConnEvent): void => {
    if (!sink.enabled) return;
    if (ev.type === 'accepted') {
      const data = { src_addr: formatAddress(ev.remote), src_port: ev.remotePort, dst_port: ev.localPort, conn_id: ev.id };
      sink.emit('conn.syn_received', data);
      sink.emit('conn.established', data);
      return;
    }
    const name = ev.reason === 'fin' ? 'conn.fin' : ev.reason === 'rst' || ev.reason === 'refused' ? 'conn.rst' : ev.reason === 'idle' ? 'conn.idle_timeout' : undefined;
    if (name) sink.emit(name, { remote_addr: formatAddress(ev.remote), remote_port: ev.remotePort, local_port: ev.localPort, conn_id: ev.id });
  };
  const onDatagram = (d: DatagramMessage): void => {
    if (!sink.enabled) return;
    sink.emit('data.datagram', { src_addr: formatAddress(d.src), src_port: d.srcPort, dst_port: d.dstPort, size: d.data.length });
  };
  node.on('registered', onRegistered);
  node.on('tunnel', onTunnel);
  node.on('conn', onConn);
  node.on('datagram', onDatagram);
  return () => {
    node.off('registered', onRegistered);
    node.off('tunnel', onTunnel);
    node.off('conn', onConn);
    node.off('datagram', onDatagram);
  };
}

/** Forwards the built-in services' events (trust 444, data exchange 1001, event stream 1002). */
export function forwardServiceEvents(sink: WebhookSink, services: Services): () => void {
  const offs: (() => void)[] = [];
  const onTrust = (ev: TrustActivity): void => {
    if (!sink.enabled) return;
    const peer = { peer_node_id: ev.nodeId };
    switch (ev.kind) {
      case 'received':
        sink.emit('handshake.received', { ...peer, justification: ev.justification });
        return;
      case 'pending':
        sink.emit('handshake.pending', { ...peer, justification: ev.justification });
        return;
      case 'auto_approved':
        sink.emit('handshake.auto_approved', { ...peer, reason: ev.rule === 'mutual' ? 'mutual' : 'same_network', ...(ev.network ? { network: ev.network } : {}) });
        return;
      case 'approved':
        sink.emit('handshake.approved', peer);
        return;
      case 'rejected':
        sink.emit('handshake.rejected', { ...peer, reason: ev.reason });
        return;
      case 'revoked':
        sink.emit('trust.revoked', peer);
        return;
      case 'revoked_by_peer':
        sink.emit('trust.revoked_by_peer', { ...peer, ...(ev.reason ? { reason: ev.reason } : {}) });
        return;
    }
  };
  services.trust.on('activity', onTrust);
  offs.push(() => services.trust.off('activity', onTrust));

  const data = services.data;
  if (data) {
    const onFile = (f: FileEvent): void => {
      if (sink.enabled) sink.emit('file.received', { filename: f.name, size: f.bytes, path: f.path, from: f.from });
    };
    const onMessage = (m: MessageEvent): void => {
      if (sink.enabled) sink.emit('message.received', { type: m.type, from: m.from, size: m.bytes });
    };
    data.on('file', onFile);
    data.on('message', onMessage);
    offs.push(() => {
      data.off('file', onFile);
      data.off('message', onMessage);
    });
  }

  const events = services.events;
  if (events) {
    const onSub = (i: { from: string; topic: string }): void => {
      if (sink.enabled) sink.emit('pubsub.subscribed', { topic: i.topic, remote: i.from });
    };
    const onUnsub = (i: { from: string; topic: string }): void => {
      if (sink.enabled) sink.emit('pubsub.unsubscribed', { topic: i.topic, remote: i.from });
    };
    const onPub = (i: { from: string; topic: string; bytes: number }): void => {
      if (sink.enabled) sink.emit('pubsub.published', { topic: i.topic, size: i.bytes, from: i.from });
    };
    events.on('subscribed', onSub);
    events.on('unsubscribed', onUnsub);
    events.on('published', onPub);
    offs.push(() => {
      events.off('subscribed', onSub);
      events.off('unsubscribed', onUnsub);
      events.off('published', onPub);
    });
  }
  return () => {
    for (const off of offs.splice(0)) off();
  };
}
