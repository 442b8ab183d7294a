/**
 * Trust handshake service, port 444 (services.md §1), plus trust ENFORCEMENT (our addition).
 *
 * Protocol as the reference: one JSON message per connection, answers on a new connection dialed back
 * (or through the registry's relayed inboxes when the peer cannot be reached), auto-approve when the
 * request is mutual or both nodes share a non-zero group, everything mirrored to the registry
 * (report_trust / revoke_trust / respond_handshake).
 *
 * Hardening over the reference (compatible on the wire):
 *  - the key in a message must equal the key the registry has for that node id, and the sender must
 *    be the authenticated peer of the connection (a message with an empty key is verified with the
 *    registry's key instead of being accepted unverified);
 *  - an accept (direct or relayed) only creates trust when we asked that node;
 *  - the group rule also applies to relayed requests.
 *
 * Enforcement policy (`admits`): see index.ts / `TrustPolicy`.
 */
import { EventEmitter } from 'node:events';
import { PilotError, isPilotError } from '../../../shared/errors';
import { PORTS } from '../../../shared/address';
import type { TrustRequestView, TrustedPeerView, TrustState } from '../../../shared/contract';
import type { RegistryEvent } from '../../wire/registry';
import { verifyText } from '../../crypto';
import { concatBytes } from '../../util/bytes';
import type { Logger } from '../../util/log';
import type { PilotNode } from '../node';
import type { PilotStream } from '../stream';
import { WorkSet, sendOneShot, whenClosed } from './common';
import {
  MAX_HANDSHAKE_BYTES,
  ReplayCache,
  buildHandshake,
  checkHandshake,
  decideAnswer,
  decideRequest,
  encodeHandshake,
  handshakeDigest,
  nextStamp,
  parseHandshake,
  sharedNetwork,
  type HandshakeMessage,
  type HandshakeType,
} from './trust-logic';
import type { TrustStore } from './trust-store';
import { ROOT_PARENT } from '../../observe/tracer';

/**
 * `enforce` (default): a PRIVATE node accepts streams only from peers it trusts or shares a group
 * with, on every port except 444 (so handshakes can arrive) — echo (7) included; public nodes accept
 * everyone. `open`: accept everyone (the reference's behaviour).
 */
export type TrustPolicy = 'enforce' | 'open';

export interface TrustOptions {
  /** Auto-approve requests from nodes sharing a non-zero group (default true). */
  autoApproveGroups?: boolean;
  policy?: TrustPolicy;
  /** Relayed-handshake polling period (default 5 s); also polled when the registry pushes an event. */
  pollIntervalMs?: number;
  /** Dial timeout for direct messages (default 10 s). */
  dialTimeoutMs?: number;
  /** Wait for the first segment of an incoming message (default 10 s). */
  readTimeoutMs?: number;
}

export interface TrustChange {
  nodeId: number;
  state: TrustState;
}

/**
 * What happened in the handshake protocol, one entry per step (the reference's webhook events
 * handshake.* and trust.*): a verified request arrived (`received`, before it is decided), it waits
 * for approval (`pending`), it was auto-approved (mutual request or shared group), this node
 * approved or rejected it, this node revoked trust, or the peer revoked it.
 */
export type TrustActivity =
  | { kind: 'received'; nodeId: number; justification: string; via: 'direct' | 'relay' }
  | { kind: 'pending'; nodeId: number; justification: string }
  | { kind: 'auto_approved'; nodeId: number; rule: 'mutual' | 'group'; network?: number }
  | { kind: 'approved'; nodeId: number }
  | { kind: 'rejected'; nodeId: number; reason: string }
  | { kind: 'revoked'; nodeId: number }
  | { kind: 'revoked_by_peer'; nodeId: number; reason: string };

export interface TrustEvents {
  /** A request is waiting for approve/reject (console notification). */
  request: [req: TrustRequestView];
  changed: [change: TrustChange];
  activity: [ev: TrustActivity];
}

/** `pilotctl pending` / IPC 0x0F 0x04 JSON. */
export interface PendingJson {
  pending: { justification: string; node_id: number; public_key: string; received_at: number }[];
}
/** `pilotctl trust` / IPC 0x0F 0x05 JSON. */
export interface TrustedJson {
  trusted: { approved_at: number; mutual: boolean; network: number; node_id: number; public_key: string }[];
}

export interface HandshakeResult {
  node_id: number;
  status: 'sent' | 'approved' | 'rejected' | 'revoked';
  /** For requests: how it travelled. */
  via?: 'direct' | 'relay' | 'none';
}

export class TrustService extends EventEmitter<TrustEvents> {
  readonly policy: TrustPolicy;
  private readonly autoGroups: boolean;
  private readonly pollMs: number;
  private readonly dialMs: number;
  private readonly readMs: number;
  private readonly replay = new ReplayCache();
  /**
   * The Unix second last stamped on a message to each peer, per type. A receiver drops a byte-equal
   * message as a replay, and ours are byte-equal within one second (deterministic signature, same
   * text): a request sent again within the second it was first sent (after a revoke, say) would be
   * lost. Each message gets a later second than the last one of its type to that peer (receivers
   * accept up to 30 s ahead).
   */
  private readonly lastStamp = new Map<string, number>();
  private readonly work: WorkSet;
  private readonly myGroups = new Set<number>();
  private readonly peerGroups = new Map<number, Set<number>>();
  /** Extra admission rules other services add (e.g. task results from a node we submitted to). */
  private readonly grants: ((peer: number, port: number) => boolean)[] = [];
  private stopListening: (() => void) | undefined;
  private pollTimer: ReturnType<typeof setTimeout> | undefined;
  private polling: Promise<void> | undefined;
  private pollAgain = false;
  private running = false;
  readonly counters = { received: 0, rejectedMessages: 0, replays: 0, refused: 0, polls: 0 };
  private readonly onRegistry = (ev: RegistryEvent): void => this.registryEvent(ev);

  constructor(
    private readonly node: PilotNode,
    readonly store: TrustStore,
    opts: TrustOptions,
    private readonly log: Logger,
  ) {
    super();
    this.work = new WorkSet(log);
    this.policy = opts.policy ?? 'enforce';
    this.autoGroups = opts.autoApproveGroups ?? true;
    this.pollMs = opts.pollIntervalMs ?? 5000;
    this.dialMs = opts.dialTimeoutMs ?? 10_000;
    this.readMs = opts.readTimeoutMs ?? 10_000;
  }

  // ---- lifecycle ----

  async start(): Promise<void> {
    this.running = true;
    this.stopListening = this.node.listen(PORTS.trust, (s) => this.onStream(s));
    this.node.on('registry', this.onRegistry);
    await this.refreshGroups().catch((e: unknown) => this.log.warn('cannot read own groups', { error: String(e) }));
    this.schedulePoll(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopListening?.();
    this.node.off('registry', this.onRegistry);
    if (this.pollTimer) clearTimeout(this.pollTimer);
    await this.work.settled();
    await this.store.save();
  }

  /** Resolves when background sends and registry mirrors have finished (and trust.json is written). */
  async settled(): Promise<void> {
    await this.work.settled();
    await this.store.save();
  }

  private schedulePoll(ms: number): void {
    if (!this.running) return;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      void this.poll()
        .catch((e: unknown) => this.log.debug('poll_handshakes failed', { error: String(e) }))
        .finally(() => this.schedulePoll(this.pollMs));
    }, ms);
    this.pollTimer.unref?.();
  }

  // ---- queries ----

  isTrusted(nodeId: number): boolean {
    return this.store.isTrusted(nodeId);
  }
  stateOf(nodeId: number): TrustState {
    return this.store.stateOf(nodeId);
  }
  listPending(): TrustRequestView[] {
    return this.store.listPending().map((p) => ({
      nodeId: p.nodeId,
      justification: p.justification,
      receivedAt: p.receivedAt,
      ...(p.publicKey ? { publicKey: p.publicKey } : {}),
    }));
  }
  listTrusted(): TrustedPeerView[] {
    return this.store.listTrusted().map((t) => ({
      nodeId: t.nodeId,
      approvedAt: t.approvedAt,
      mutual: t.mutual,
      network: t.network,
      ...(t.publicKey ? { publicKey: t.publicKey } : {}),
    }));
  }
  pendingJson(): PendingJson {
    return {
      pending: this.store.listPending().map((p) => ({
        justification: p.justification,
        node_id: p.nodeId,
        public_key: p.publicKey,
        received_at: Math.floor(p.receivedAt / 1000),
      })),
    };
  }
  trustedJson(): TrustedJson {
    return {
      trusted: this.store.listTrusted().map((t) => ({
        approved_at: Math.floor(t.approvedAt / 1000),
        mutual: t.mutual,
        network: t.network,
        node_id: t.nodeId,
        public_key: t.publicKey,
      })),
    };
  }

  // ---- groups and enforcement ----

  /** Re-reads this node's groups from the registry. */
  async refreshGroups(): Promise<number[]> {
    const r = await this.node.registry.lookup(this.node.nodeId);
    this.myGroups.clear();
    for (const n of r.networks) if (n !== 0) this.myGroups.add(n);
    return [...this.myGroups];
  }

  groups(): number[] {
    return [...this.myGroups];
  }

  private notePeerGroups(nodeId: number, networks: readonly number[]): void {
    this.peerGroups.set(nodeId, new Set(networks.filter((n) => n !== 0)));
  }

  /** Do we share a non-zero group with `nodeId` (from cached registry data, no I/O)? */
  sharesGroup(nodeId: number): boolean {
    if (this.myGroups.size === 0) return false;
    const nets = this.peerGroups.get(nodeId) ?? this.node.peers.get(nodeId)?.networks ?? [];
    for (const n of nets) if (n !== 0 && this.myGroups.has(n)) return true;
    return false;
  }

  /** Adds an admission rule (returns its removal). */
  addGrant(rule: (peer: number, port: number) => boolean): () => void {
    this.grants.push(rule);
    return () => {
      const i = this.grants.indexOf(rule);
      if (i >= 0) this.grants.splice(i, 1);
    };
  }

  /** The admission decision for a stream from `peer` to local `port` (see TrustPolicy). */
  admits(peer: number, port: number): boolean {
    if (this.policy === 'open' || this.node.isPublic || port === PORTS.trust) return true;
    if (this.store.isTrusted(peer) || this.sharesGroup(peer)) return true;
    if (this.grants.some((g) => g(peer, port))) return true;
    this.counters.refused++;
    this.log.debug('refused stream from untrusted peer', { peer, port });
    return false;
  }

  private registryEvent(ev: RegistryEvent): void {
    const me = this.node.nodeId;
    switch (ev.event) {
      case 'handshake_request':
      case 'handshake_response':
        this.schedulePoll(0);
        return;
      case 'network_created':
      case 'member_joined':
      case 'member_left': {
        const net = ev.network_id ?? 0;
        if (net === 0) return;
        if (ev.node_id === me) {
          if (ev.event === 'member_left') this.myGroups.delete(net);
          else this.myGroups.add(net);
        } else {
          const s = this.peerGroups.get(ev.node_id) ?? new Set<number>();
          if (ev.event === 'member_left') s.delete(net);
          else s.add(net);
          this.peerGroups.set(ev.node_id, s);
        }
        return;
      }
      default:
        return;
    }
  }

  // ---- local operations (IPC / console) ----

  /** Sends a trust request: direct to port 444, else relayed through the registry. */
  async request(nodeId: number, justification = ''): Promise<HandshakeResult> {
    checkPeer(nodeId, this.node.nodeId);
    return this.node.tracer.trace('trust.request', () => this.requestIn(nodeId, justification), undefined, { 'peer.node_id': nodeId }, 'client');
  }

  private async requestIn(nodeId: number, justification: string): Promise<HandshakeResult> {
    if (this.store.isTrusted(nodeId)) return { node_id: nodeId, status: 'sent', via: 'none' };
    this.store.setOutgoing(nodeId, this.node.clock.wallNow());
    this.changed(nodeId);
    try {
      await this.sendDirect(nodeId, 'handshake_request', { justification });
      this.log.info('trust request sent', { peer: nodeId, via: 'direct' });
      return { node_id: nodeId, status: 'sent', via: 'direct' };
    } catch (direct) {
      this.log.debug('direct trust request failed, relaying through the registry', { peer: nodeId, error: String(direct) });
      try {
        await this.node.registry.requestHandshake(nodeId, justification);
      } catch (relay) {
        throw new PilotError(
          'connection_failed',
          `handshake request to node ${nodeId} failed: ${errText(direct)}; relay: ${errText(relay)}`,
          'check the node id: pilotctl lookup <node_id>',
        );
      }
      this.log.info('trust request sent', { peer: nodeId, via: 'relay' });
      return { node_id: nodeId, status: 'sent', via: 'relay' };
    }
  }

  /** Approves a pending request (silently succeeds when nothing is pending). */
  async approve(nodeId: number): Promise<HandshakeResult> {
    checkPeer(nodeId, this.node.nodeId);
    const p = this.store.pending(nodeId);
    if (!p) return { node_id: nodeId, status: 'approved' };
    this.store.setTrusted({ nodeId, publicKey: p.publicKey, approvedAt: this.node.clock.wallNow(), mutual: false, network: 0 });
    this.changed(nodeId);
    this.log.info('trust approved', { peer: nodeId });
    this.emit('activity', { kind: 'approved', nodeId });
    // Mirror first, so once approve returns the peer may resolve us.
    await this.reportTrust(nodeId);
    this.work.add(
      (async () => {
        await this.node.registry.respondHandshake(nodeId, true).catch((e: unknown) => this.log.debug('respond_handshake failed', { peer: nodeId, error: String(e) }));
        await this.sendDirect(nodeId, 'handshake_accept').catch((e: unknown) => this.log.debug('direct accept failed', { peer: nodeId, error: String(e) }));
        if (!p.publicKey) await this.backfillKey(nodeId);
      })(),
      'trust approval follow-up',
      { peer: nodeId },
    );
    return { node_id: nodeId, status: 'approved' };
  }

  async reject(nodeId: number, reason = ''): Promise<HandshakeResult> {
    checkPeer(nodeId, this.node.nodeId);
    const had = this.store.removePending(nodeId);
    if (had) this.changed(nodeId);
    this.log.info('trust request rejected', { peer: nodeId });
    this.emit('activity', { kind: 'rejected', nodeId, reason });
    this.work.add(
      (async () => {
        await this.node.registry.respondHandshake(nodeId, false).catch((e: unknown) => this.log.debug('respond_handshake failed', { peer: nodeId, error: String(e) }));
        await this.sendDirect(nodeId, 'handshake_reject', { reason }).catch((e: unknown) => this.log.debug('direct reject failed', { peer: nodeId, error: String(e) }));
      })(),
      'trust rejection follow-up',
      { peer: nodeId },
    );
    return { node_id: nodeId, status: 'rejected' };
  }

  /** Revokes trust: removed locally and at the registry, the peer told, the tunnel state dropped. */
  async revoke(nodeId: number): Promise<HandshakeResult> {
    checkPeer(nodeId, this.node.nodeId);
    if (!this.store.isTrusted(nodeId)) throw new PilotError('not_found', `handshake revoke: node ${nodeId} was not trusted`);
    this.store.remove(nodeId);
    this.changed(nodeId);
    this.log.info('trust revoked', { peer: nodeId });
    this.emit('activity', { kind: 'revoked', nodeId });
    await this.node.registry.revokeTrust(nodeId).catch((e: unknown) => this.log.warn('revoke_trust failed', { peer: nodeId, error: String(e) }));
    this.work.add(
      (async () => {
        await this.sendDirect(nodeId, 'handshake_revoke').catch((e: unknown) => this.log.debug('direct revoke failed', { peer: nodeId, error: String(e) }));
        this.forgetTunnel(nodeId);
      })(),
      'trust revocation follow-up',
      { peer: nodeId },
    );
    return { node_id: nodeId, status: 'revoked' };
  }

  /** Processes the registry's relayed requests and responses (also runs periodically). */
  poll(): Promise<void> {
    if (this.polling) {
      this.pollAgain = true;
      return this.polling;
    }
    const run = async (): Promise<void> => {
      do {
        this.pollAgain = false;
        this.counters.polls++;
        const r = await this.node.registry.pollHandshakes();
        for (const req of r.requests) {
          const info = await this.peerInfo(req.from_node_id);
          if (!info) continue;
          await this.onRequest(req.from_node_id, info.publicKey, req.justification, info.networks, 'relay');
        }
        for (const resp of r.responses) await this.onAnswer(resp.accept, resp.from_node_id, undefined);
      } while (this.pollAgain && this.running);
    };
    this.polling = run().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  // ---- incoming messages ----

  private onStream(s: PilotStream): void {
    const remote = s.remote.node;
    const parts: Uint8Array[] = [];
    let total = 0;
    let done = false;
    const finish = (msg: HandshakeMessage | undefined, why?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.end();
      if (!msg) {
        this.counters.rejectedMessages++;
        this.log.warn('dropped trust message', { peer: remote, reason: why ?? 'unreadable' });
        return;
      }
      this.work.add(this.handleMessage(msg, remote, s), 'trust message handling', { peer: remote });
    };
    const tryParse = (): HandshakeMessage | undefined => {
      try {
        return parseHandshake(parts.length === 1 ? parts[0]! : concatBytes(...parts));
      } catch {
        return undefined;
      }
    };
    const timer = setTimeout(() => finish(tryParse(), 'timeout'), this.readMs);
    s.stopBuffering();
    s.on('data', (c) => {
      if (done) return;
      parts.push(Uint8Array.from(c));
      total += c.length;
      if (total > MAX_HANDSHAKE_BYTES) {
        done = true;
        clearTimeout(timer);
        s.abort();
        this.counters.rejectedMessages++;
        this.log.warn('dropped oversized trust message', { peer: remote, bytes: total });
        return;
      }
      const m = tryParse();
      if (m) finish(m);
    });
    s.on('close', () => finish(tryParse(), 'closed before a complete message'));
  }

  private async handleMessage(m: HandshakeMessage, remote: number, s: PilotStream | undefined): Promise<void> {
    const attrs = { 'peer.node_id': remote, 'trust.type': String(m.type).slice(0, 32), 'trust.via': s ? 'direct' : 'relay' };
    await this.node.tracer.trace('trust.handshake', () => this.handleMessageIn(m, remote, s), ROOT_PARENT, attrs, 'server');
  }

  private async handleMessageIn(m: HandshakeMessage, remote: number, s: PilotStream | undefined): Promise<void> {
    this.counters.received++;
    const info = await this.peerInfo(m.node_id);
    const now = this.node.clock.wallNow();
    const v = checkHandshake(m, {
      me: this.node.nodeId,
      remoteNode: remote,
      nowSec: Math.floor(now / 1000),
      registryKey: info?.publicKey,
      verify: (k, text, sig) => verifyText(this.node.backend, k, text, sig),
    });
    if (!v.ok) {
      this.counters.rejectedMessages++;
      this.log.warn('rejected trust message', { peer: remote, type: m.type, reason: v.reason });
      return;
    }
    if (this.replay.check(handshakeDigest(m), now)) {
      this.counters.replays++;
      this.log.warn('replayed trust message dropped', { peer: remote, type: m.type });
      return;
    }
    this.log.debug('trust message', { peer: remote, type: m.type });
    switch (m.type) {
      case 'handshake_request':
        await this.onRequest(m.node_id, v.publicKey, m.justification, info?.networks ?? [], 'direct');
        return;
      case 'handshake_accept':
        await this.onAnswer(true, m.node_id, v.publicKey);
        return;
      case 'handshake_reject':
        await this.onAnswer(false, m.node_id, v.publicKey);
        return;
      case 'handshake_revoke': {
        const was = this.store.remove(m.node_id);
        this.changed(m.node_id);
        this.log.info('trust revoked by peer', { peer: m.node_id, reason: m.reason });
        this.emit('activity', { kind: 'revoked_by_peer', nodeId: m.node_id, reason: m.reason });
        if (was) await this.node.registry.revokeTrust(m.node_id).catch(() => undefined);
        if (s) await whenClosed(s, 3000);
        this.forgetTunnel(m.node_id);
        return;
      }
    }
  }

  private async onRequest(nodeId: number, publicKey: string, justification: string, peerNets: readonly number[], via: 'direct' | 'relay'): Promise<void> {
    this.emit('activity', { kind: 'received', nodeId, justification, via });
    let mine = [...this.myGroups];
    if (this.autoGroups && !this.store.isTrusted(nodeId) && !this.store.hasOutgoing(nodeId)) {
      mine = await this.refreshGroups().catch(() => mine);
    }
    const d = decideRequest({
      trusted: this.store.isTrusted(nodeId),
      outgoing: this.store.hasOutgoing(nodeId),
      sharedNetwork: sharedNetwork(mine, peerNets),
      autoApproveGroups: this.autoGroups,
    });
    const now = this.node.clock.wallNow();
    switch (d.action) {
      case 'already_trusted':
        this.store.setKey(nodeId, publicKey);
        this.answerAccept(nodeId, via);
        return;
      case 'mutual':
      case 'group':
        this.store.setTrusted({ nodeId, publicKey, approvedAt: now, mutual: d.action === 'mutual', network: d.action === 'group' ? d.network : 0 });
        this.changed(nodeId);
        this.log.info('trust auto-approved', { peer: nodeId, rule: d.action, ...(d.action === 'group' ? { network: d.network } : {}) });
        this.emit('activity', d.action === 'group' ? { kind: 'auto_approved', nodeId, rule: 'group', network: d.network } : { kind: 'auto_approved', nodeId, rule: 'mutual' });
        await this.reportTrust(nodeId);
        this.answerAccept(nodeId, via);
        return;
      case 'pending': {
        if (!this.store.pending(nodeId) && this.store.listPending().length >= MAX_PENDING) {
          this.log.warn('too many pending trust requests, dropped', { peer: nodeId, limit: MAX_PENDING });
          return;
        }
        this.store.setPending({ nodeId, publicKey, justification, receivedAt: now });
        this.changed(nodeId);
        this.log.info('trust request pending', { peer: nodeId, via });
        const view: TrustRequestView = { nodeId, justification, receivedAt: now, ...(publicKey ? { publicKey } : {}) };
        this.emit('request', view);
        this.emit('activity', { kind: 'pending', nodeId, justification });
        return;
      }
    }
  }

  private async onAnswer(accept: boolean, nodeId: number, publicKey: string | undefined): Promise<void> {
    // Any lookup happens before the decision, and nothing is awaited between deciding and acting: a
    // decision taken before an await could act on a request that a revoke withdrew meanwhile (a
    // relayed approval re-creating trust after `untrust`, issue 15).
    const looked = accept && publicKey === undefined && this.store.hasOutgoing(nodeId) ? (await this.peerInfo(nodeId))?.publicKey : undefined;
    const d = decideAnswer(accept, { trusted: this.store.isTrusted(nodeId), outgoing: this.store.hasOutgoing(nodeId) });
    switch (d.action) {
      case 'trust': {
        const key = publicKey ?? looked ?? '';
        this.store.setTrusted({ nodeId, publicKey: key, approvedAt: this.node.clock.wallNow(), mutual: true, network: 0 });
        this.changed(nodeId);
        this.log.info('trust accepted by peer', { peer: nodeId });
        await this.reportTrust(nodeId);
        return;
      }
      case 'clear_outgoing':
        this.store.clearOutgoing(nodeId);
        this.changed(nodeId);
        this.log.info('trust request rejected by peer', { peer: nodeId });
        return;
      case 'ignore':
        this.log.debug('trust answer ignored', { peer: nodeId, accept, reason: d.reason });
        return;
    }
  }

  // ---- sending ----

  private answerAccept(nodeId: number, via: 'direct' | 'relay'): void {
    this.work.add(
      (async () => {
        if (via === 'direct') {
          try {
            await this.sendDirect(nodeId, 'handshake_accept');
            return;
          } catch (e) {
            this.log.debug('direct accept failed, relaying', { peer: nodeId, error: String(e) });
          }
        }
        await this.node.registry.respondHandshake(nodeId, true).catch((e: unknown) => this.log.warn('respond_handshake failed', { peer: nodeId, error: String(e) }));
      })(),
      'trust acceptance answer',
      { peer: nodeId },
    );
  }

  private async sendDirect(nodeId: number, type: HandshakeType, extra: { justification?: string; reason?: string } = {}): Promise<void> {
    const me = this.node.nodeId;
    const msg = buildHandshake(this.node.identity, type, me, nodeId, this.stampFor(nodeId, type), extra);
    await sendOneShot(this.node, nodeId, PORTS.trust, encodeHandshake(msg), this.dialMs);
  }

  private stampFor(nodeId: number, type: HandshakeType): number {
    const key = `${nodeId}:${type}`;
    const sec = nextStamp(Math.floor(this.node.clock.wallNow() / 1000), this.lastStamp.get(key));
    if (this.lastStamp.size >= MAX_STAMPS) this.lastStamp.clear();
    this.lastStamp.set(key, sec);
    return sec;
  }

  private async reportTrust(nodeId: number): Promise<void> {
    await this.node.registry.reportTrust(nodeId).catch((e: unknown) => this.log.warn('report_trust failed', { peer: nodeId, error: String(e) }));
  }

  private async backfillKey(nodeId: number): Promise<void> {
    const info = await this.peerInfo(nodeId);
    if (info?.publicKey) this.store.setKey(nodeId, info.publicKey);
  }

  /** Registry key and groups of a node (cached groups updated); undefined if the lookup fails. */
  private async peerInfo(nodeId: number): Promise<{ publicKey: string; networks: number[] } | undefined> {
    try {
      const r = await this.node.registry.lookup(nodeId);
      this.notePeerGroups(nodeId, r.networks);
      return { publicKey: r.public_key, networks: r.networks };
    } catch (e) {
      this.log.debug('lookup failed', { peer: nodeId, error: String(e) });
      return undefined;
    }
  }

  private forgetTunnel(nodeId: number): void {
    try {
      this.node.tunnels.forget(nodeId);
    } catch (e) {
      if (!isPilotError(e, 'not_running')) throw e;
    }
  }

  private changed(nodeId: number): void {
    this.emit('changed', { nodeId, state: this.store.stateOf(nodeId) });
  }
}

/** Peers × types whose last message second is remembered (then started over). */
const MAX_STAMPS = 4096;

/** Pending requests kept at most (a flood of requests cannot grow trust.json without bound). */
const MAX_PENDING = 1000;

function checkPeer(nodeId: number, me: number): void {
  if (!Number.isInteger(nodeId) || nodeId < 1 || nodeId > 0xffffffff) throw new PilotError('invalid_argument', `invalid node id ${nodeId}`);
  if (nodeId === me) throw new PilotError('invalid_argument', `node ${nodeId} is this node itself: a node does not need trust with itself`, 'name another node; to test this node, try: pilotctl ping <own address>');
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
