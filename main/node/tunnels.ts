/**
 * The tunnel layer: one UDP socket carrying key exchange (PILA), encrypted frames (PILS), punch
 * packets and beacon messages, per-peer crypto state, and the path to every peer
 * (direct / punched / relay), including the upgrade back from relay to direct that the reference
 * never does.
 *
 * Path rules:
 *  - direct:  frames flow straight between the two endpoints and at most one side is behind a NAT
 *             (the NATed side's own outgoing traffic opens the way);
 *  - punched: frames flow straight between two NATed nodes — possible only through hole punching
 *             (PunchRequest / PunchCommand / PILP). Both sides' NAT status comes from the beacon's
 *             view (the registry's `behind_nat` extension); when one side is known not to be behind
 *             a NAT the path is direct; for a peer that reports nothing (the reference) while our own
 *             status is unknown: direct at its registered endpoint, else whether a punch was
 *             requested before the path worked (rules.directKind);
 *  - relay:   frames go through the beacon (0x05 Relay / 0x06 RelayDeliver).
 * A relayed peer is probed (punch + direct PILA) after `upgradeIntervalMs`, the gap doubling up to
 * 60 s while it stays on relay (each probe restarts a reference peer's state); the first authenticated
 * frame that arrives straight from the peer's endpoint switches it back to punched.
 *
 * Kept here: the datagram dispatch, key exchange handling, establishment and path upkeep, which share
 * the peer table and the socket. Split out: decisions (tunnel-rules.ts), per-peer state
 * (tunnel-peer.ts), key exchange budgets and retired keys (kx-guard.ts), registered keys
 * (key-directory.ts), traffic to ourselves (loopback.ts). establishment and upkeep
 * (tunnel-upkeep.ts).
 */
import { PilotError } from '../../shared/errors';
import {
  getCrypto,
  signPila,
  TunnelCipher,
  deriveTunnelKey,
  verifyPila,
  type CryptoBackend,
  type KeyPair,
} from '../crypto';
import { decodeBeacon, encodeBeacon, type BeaconMessage } from '../wire/beacon';
import type { DropReason, PathKind, PeerTunnelInfo, TunnelEvent, TunnelOptions } from './tunnel-types';
import { KeyDirectory } from './key-directory';
import { Loopback } from './loopback';
import { KxGuard } from './kx-guard';
import { Peer } from './tunnel-peer';
import { TunnelUpkeep } from './tunnel-upkeep';
import * as rules from './tunnel-rules';
import {
  classifyDatagram,
  decodePILA,
  decodePILS,
  decodePILT,
  encodePILA,
  encodePILT,
  PILP_FRAME,
  PILS_HEADER_SIZE,
  writePILSHeader,
} from '../wire/tunnel';
import { LogLimiter, type LogFields } from '../util/log';
import { datagramBytes, datagramLength, endpointKey, formatEndpoint, sameHost, type Datagram, type UdpEndpoint } from './udp';
import { u32 } from '../wire/bytes';

export type { DropReason, PathKind, PeerCounters, PeerTunnelInfo, TunnelEvent, TunnelOptions } from './tunnel-types';

const MAX_QUEUE = 64;
/** PILS senders without a session that we answered lately, remembered at most (then started over). */
const MAX_ORPHAN_SENDERS = 4096;
const ZERO_NONCE = new Uint8Array(12);


export class TunnelManager {
  private readonly peers = new Map<number, Peer>();
  private readonly backend: CryptoBackend;
  private readonly encrypt: boolean;
  /** Registered keys: the inbound path's only asynchronous step, bounded and closed (key-directory.ts). */
  private readonly keys: KeyDirectory;
  /** Senders of PILS frames we had no session for, with when we last answered one with a PILA. */
  private readonly orphanKxAt = new Map<number, number>();
  private readonly globalDrops: Partial<Record<DropReason, number>> = {};
  /** Endpoints the beacon told us to punch towards, with the time: a first contact from one of them is a punched path. */
  private readonly punchTargets = new Map<string, number>();
  private nodeIdValue = 0;
  private closed = false;
  /** Logs caused by inbound frames are rate-limited: a hostile peer must not flood the log. */
  private readonly logLimit: LogLimiter;
  private readonly o: Required<Pick<TunnelOptions, 'punchAfterMs' | 'relayAfterMs' | 'establishTimeoutMs' | 'upgradeIntervalMs' | 'kxRetryMs' | 'silenceRekeyMs'>>;
  private beaconValue: UdpEndpoint | undefined;
  /** UDP-level counters (Info's pkts/bytes). */
  readonly totals = { pktsSent: 0, pktsRecv: 0, bytesSent: 0, bytesRecv: 0, sendErrors: 0 };
  /** Key exchange budgets per sender and the X25519 keys peers have replaced (kx-guard.ts). */
  private readonly kxGuard = new KxGuard();
  /** Packets addressed to ourselves, handed back to the node on a later turn. */
  private readonly loopback = new Loopback((packet) => this.opts.onPacket(packet, this.nodeIdValue));
  /** Establishment retries, relay probes, silent-peer re-keys, keep-alives (tunnel-upkeep.ts). */
  private readonly upkeep: TunnelUpkeep;

  constructor(private readonly opts: TunnelOptions) {
    this.backend = opts.backend ?? getCrypto();
    this.encrypt = opts.encrypt ?? true;
    this.beaconValue = opts.beacon;
    this.logLimit = new LogLimiter(() => opts.clock.now());
    this.keys = new KeyDirectory(opts.lookupKey, () => opts.clock.now(), (e) => this.internalFault('key lookup', e));
    this.o = {
      punchAfterMs: opts.punchAfterMs ?? 300,
      relayAfterMs: opts.relayAfterMs ?? 2000,
      establishTimeoutMs: opts.establishTimeoutMs ?? 8000,
      upgradeIntervalMs: opts.upgradeIntervalMs ?? 5000,
      silenceRekeyMs: opts.silenceRekeyMs ?? 6000,
      kxRetryMs: opts.kxRetryMs ?? 250,
    };
    this.upkeep = new TunnelUpkeep({
      clock: opts.clock,
      log: opts.log,
      onDialStage: opts.onDialStage,
      config: this.o,
      nodeId: () => this.nodeIdValue,
      beacon: () => this.beaconValue,
      closed: () => this.closed,
      peers: () => this.peers.values(),
      isReady: (id) => this.isReady(id),
      sendKx: (p, force, direct) => this.maybeSendKx(p, force, direct),
      sendBeacon: (m) => this.sendBeacon(m),
      setPath: (p, to) => this.setPath(p, to),
      rawSend: (f, to) => this.rawSend(f, to),
      newKeyPair: () => this.backend.x25519Generate(),
    });
    opts.socket.onMessage((data, from) => this.onDatagram(data, from));
    this.upkeep.scheduleUpgrade();
  }

  /** Our node id (0 until registered). Frames carry it as the sender. */
  set nodeId(id: number) {
    this.nodeIdValue = id;
  }
  get nodeId(): number {
    return this.nodeIdValue;
  }
  get beacon(): UdpEndpoint | undefined {
    return this.beaconValue;
  }
  set beacon(b: UdpEndpoint | undefined) {
    this.beaconValue = b;
  }
  get encrypted(): boolean {
    return this.encrypt;
  }

  /** Remembers a node's registered Ed25519 key (e.g. from a lookup done elsewhere). */
  rememberKey(nodeId: number, key: Uint8Array): void {
    this.keys.remember(nodeId, key);
  }

  /** Starts the registry lookup of a node's key unless it is known or being looked up (a dial's first step). */
  prefetchKey(nodeId: number): void {
    if (this.isSelf(nodeId)) return;
    this.keys.withKey(nodeId, () => {});
  }

  /** Registry key lookups made (forged key exchanges must not turn into a lookup each). */
  get keyLookupCount(): number {
    return this.keys.lookupCount;
  }

  /** Sends a raw beacon message from the tunnel socket (so the beacon learns the tunnel's mapping). */
  sendBeacon(msg: BeaconMessage, to: UdpEndpoint | undefined = this.beaconValue): void {
    if (!to) return;
    this.rawSend(encodeBeacon(msg), to);
  }

  hasPeer(nodeId: number): boolean {
    return this.peers.has(nodeId);
  }

  isReady(nodeId: number): boolean {
    if (this.isSelf(nodeId)) return true;
    const p = this.peers.get(nodeId);
    return !!p && (!this.encrypt || !!p.cipher) && (p.relay || !!p.endpoint);
  }

  pathOf(nodeId: number): PathKind | undefined {
    // Our own address: the loopback, shown as direct (no relay, no punch). A 'local' kind would need
    // the console contract's PathKind and every view over it to learn it.
    if (this.isSelf(nodeId)) return 'direct';
    return this.peers.get(nodeId)?.path;
  }

  /**
   * Makes sure a tunnel to `nodeId` is up: direct key exchange at `endpoint`, a punch after
   * `punchAfterMs`, relay after `relayAfterMs`. Resolves when frames can flow.
   */
  ensure(nodeId: number, endpoint: UdpEndpoint | undefined): Promise<void> {
    if (this.isSelf(nodeId)) return Promise.resolve(); // the loopback is always up
    const p = this.getPeer(nodeId);
    if (endpoint) p.registered = endpoint;
    if (endpoint && !p.endpoint) p.endpoint = endpoint;
    if (this.isReady(nodeId)) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => p.waiters.push({ resolve, reject }));
    if (!p.establishing) this.upkeep.startEstablish(p);
    return done;
  }

  /**
   * Sends one marshalled packet to a peer (queues a copy while the key exchange runs). `packet` is
   * not kept after the call: the caller may reuse its buffer.
   */
  send(nodeId: number, packet: Uint8Array): void {
    if (this.isSelf(nodeId)) {
      this.loopback.send(packet);
      return;
    }
    const p = this.getPeer(nodeId);
    if (!this.encrypt) {
      this.transmit(p, encodePILT(packet));
      return;
    }
    if (!p.cipher) {
      if (p.queue.length >= MAX_QUEUE) {
        p.queue.shift();
        this.drop('queue_overflow', p);
      }
      p.queue.push(Uint8Array.from(packet));
      this.maybeSendKx(p);
      if (!p.establishing) this.upkeep.startEstablish(p);
      return;
    }
    this.transmit(p, this.sealFrame(p.cipher, packet));
  }

  peerInfo(nodeId: number): PeerTunnelInfo | undefined {
    const p = this.peers.get(nodeId);
    return p ? this.info(p) : undefined;
  }

  listPeers(): PeerTunnelInfo[] {
    return [...this.peers.values()].map((p) => this.info(p));
  }

  drops(): Partial<Record<DropReason, number>> {
    return { ...this.globalDrops };
  }

  /** Forgets a peer's crypto state (trust revoked); the next send starts a new exchange. */
  forget(nodeId: number): void {
    const p = this.peers.get(nodeId);
    if (!p) return;
    for (const w of p.waiters) w.reject(new PilotError('connection_failed', `tunnel to node ${nodeId} was closed`));
    if (p.establishing?.timer) this.opts.clock.clearTimeout(p.establishing.timer);
    this.peers.delete(nodeId);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.loopback.close();
    this.upkeep.stop();
    for (const p of this.peers.values()) {
      if (p.establishing?.timer) this.opts.clock.clearTimeout(p.establishing.timer);
      for (const w of p.waiters) w.reject(new PilotError('unavailable', 'node is shutting down'));
      p.waiters = [];
    }
    await this.opts.socket.close();
  }

  // ---- internals -------------------------------------------------------------------------

  /** Our own registered id: packets to it take the loopback (0 is no one: not registered yet). */
  private isSelf(nodeId: number): boolean {
    return nodeId === this.nodeIdValue && nodeId !== 0;
  }

  private info(p: Peer): PeerTunnelInfo {
    const out: PeerTunnelInfo = {
      nodeId: p.nodeId,
      path: p.path,
      encrypted: !!p.cipher,
      authenticated: p.authenticated,
      pathChanges: p.pathChanges,
      counters: { ...p.counters, drops: { ...p.counters.drops } },
    };
    if (p.endpoint) out.endpoint = formatEndpoint(p.endpoint);
    if (p.peerEd25519) out.peerKeyFingerprint = Buffer.from(p.peerEd25519).toString('base64').slice(0, 16);
    if (p.lastRecv > -Infinity) out.lastRecvMs = p.lastRecv;
    if (p.lastSend > -Infinity) out.lastSendMs = p.lastSend;
    return out;
  }

  /**
   * The peer entry, made on first use with a fresh X25519 pair of ours (or `pair`): every tunnel
   * session has its own key, so a peer that dropped its state for us (after `untrust`, or a
   * `forget` here) sees a new key, which is the one thing the reference answers.
   */
  private getPeer(nodeId: number, pair?: KeyPair): Peer {
    let p = this.peers.get(nodeId);
    if (!p) {
      p = new Peer(nodeId, pair ?? this.backend.x25519Generate());
      this.peers.set(nodeId, p);
      this.opts.onEvent?.({ type: 'peer_added', nodeId });
    }
    return p;
  }

  private setPath(p: Peer, to: PathKind): void {
    if (p.path === to) return;
    const from = p.path;
    p.path = to;
    p.probeGap = undefined; // a new path: relay probes start over at the base interval
    p.nextProbeAt = -Infinity;
    p.pathChanges++;
    const ev: TunnelEvent = { type: 'path_changed', nodeId: p.nodeId, from, to };
    if (p.endpoint) ev.endpoint = formatEndpoint(p.endpoint);
    this.opts.log.info('path changed', { peer: p.nodeId, from, to, endpoint: ev.endpoint });
    this.opts.onEvent?.(ev);
  }

  private drop(reason: DropReason, p?: Peer): void {
    this.globalDrops[reason] = (this.globalDrops[reason] ?? 0) + 1;
    if (p) p.counters.drops[reason] = (p.counters.drops[reason] ?? 0) + 1;
    const ev: TunnelEvent = { type: 'dropped', reason };
    if (p) ev.nodeId = p.nodeId;
    this.opts.onEvent?.(ev);
  }

  private rawSend(frame: Datagram, to: UdpEndpoint): void {
    this.totals.pktsSent++;
    this.totals.bytesSent += datagramLength(frame);
    try {
      this.opts.socket.send(frame, to);
    } catch (e) {
      // A destination the socket refuses (bad port or address learnt from a peer): count, never throw.
      this.totals.sendErrors++;
      const fields: LogFields = { to: formatEndpoint(to), error: e instanceof Error ? e.message : String(e) };
      if (this.logLimit.allow('send_error', fields)) this.opts.log.warn('datagram not sent', fields);
    }
  }

  private transmit(p: Peer, frame: Datagram): void {
    const now = this.opts.clock.now();
    if (p.lastRecv >= p.lastSend) p.unansweredSince = now;
    p.lastSend = now;
    p.counters.framesOut++;
    p.counters.bytesOut += datagramLength(frame);
    if ((p.relay || !p.endpoint) && this.beaconValue) {
      p.counters.relayedOut++;
      this.rawSend(encodeBeacon({ type: 'relay', sender: this.nodeIdValue, dest: p.nodeId, frame: datagramBytes(frame) }), this.beaconValue);
      return;
    }
    if (p.endpoint) this.rawSend(frame, p.endpoint);
  }

  /**
   * A PILS frame as pieces for one scatter-gather datagram: "PILS" ‖ sender ‖ nonce (20 bytes), then
   * ciphertext ‖ tag as the cipher produced them — no frame-sized buffer, no copy of the packet.
   */
  private sealFrame(cipher: TunnelCipher, packet: Uint8Array): Uint8Array[] {
    const head = new Uint8Array(PILS_HEADER_SIZE);
    // writePILSHeader writes magic + sender; the cipher writes the nonce after them.
    writePILSHeader(head, this.nodeIdValue, ZERO_NONCE);
    return cipher.sealParts(packet, head, 8);
  }

  /** Our signed key exchange with `pair`. */
  private kxFrame(pair: KeyPair): Uint8Array {
    const sig = signPila(this.opts.identity, this.nodeIdValue, pair.publicKey);
    return encodePILA({
      sender: this.nodeIdValue,
      x25519Public: pair.publicKey,
      ed25519Public: this.opts.identity.publicKey,
      signature: sig,
    });
  }

  private maybeSendKx(p: Peer, force = false, direct?: UdpEndpoint): void {
    const now = this.opts.clock.now();
    if (!force && now - p.lastKxSent < this.o.kxRetryMs) return;
    p.lastKxSent = now;
    p.counters.keyExchangesSent++;
    const frame = this.kxFrame(p.x25519);
    if (direct) {
      this.rawSend(frame, direct);
      return;
    }
    this.transmit(p, frame);
  }

  private onDatagram(data: Uint8Array, from: UdpEndpoint): void {
    this.totals.pktsRecv++;
    this.totals.bytesRecv += data.length;
    const fromBeacon = this.opts.isBeacon ? this.opts.isBeacon(from) : !!this.beaconValue && from.port === this.beaconValue.port && sameHost(from.host, this.beaconValue.host);
    try {
      const kind = classifyDatagram(data);
      switch (kind) {
        case 'beacon':
          this.onBeaconMessage(decodeBeacon(data), from, fromBeacon);
          return;
        case 'PILP':
          return;
        case 'PILA':
          this.onPila(data, from, false);
          return;
        case 'PILS':
          this.onPils(data, from, false);
          return;
        case 'PILT':
          this.onPilt(data, from, false, undefined);
          return;
        case 'PILK':
          this.drop('unauthenticated_kx');
          return;
        default:
          this.drop('unknown_magic');
      }
    } catch (e) {
      if (e instanceof PilotError) {
        this.drop('malformed');
        if (this.opts.log.enabled('debug')) this.opts.log.debug('malformed datagram dropped', { from: formatEndpoint(from), error: String(e) });
      } else this.internalFault('datagram', e, from);
    }
  }

  /**
   * Our own code threw while handling inbound traffic (not a decode error): count it, log the stack,
   * keep serving. The frame that caused it is dropped; the state it touched stays consistent because
   * every handler decides before it mutates (see acceptKx).
   */
  private internalFault(where: string, e: unknown, from?: UdpEndpoint): void {
    this.drop('internal_error');
    const err = e instanceof Error ? e : new Error(String(e));
    const fields: LogFields = { where, from: from ? formatEndpoint(from) : undefined, error: err.message, stack: err.stack };
    if (this.logLimit.allow('internal_error', fields)) this.opts.log.error('inbound frame handler failed', fields);
  }

  private onBeaconMessage(m: BeaconMessage, from: UdpEndpoint, fromBeacon: boolean): void {
    if (m.type === 'relay_deliver') {
      if (!fromBeacon) {
        this.drop('not_for_us');
        return;
      }
      const inner = m.frame;
      const kind = classifyDatagram(inner);
      if (kind === 'PILA') this.onPila(inner, from, true, m.sender);
      else if (kind === 'PILS') this.onPils(inner, from, true, m.sender);
      else if (kind === 'PILT') this.onPilt(inner, from, true, m.sender);
      else this.drop('malformed');
      return;
    }
    if (m.type === 'punch_command') {
      // Only the beacon coordinates punches: from anyone else this would make us send at their word.
      if (!fromBeacon || !rules.punchTargetOk(m.ip, m.port)) {
        this.drop(fromBeacon ? 'malformed' : 'not_for_us');
        return;
      }
      const target = { host: m.ip, port: m.port };
      for (let i = 0; i < 3; i++) this.rawSend(PILP_FRAME, target);
      const now = this.opts.clock.now();
      this.punchTargets.set(endpointKey(target), now);
      if (this.punchTargets.size > 256) {
        for (const [k, t] of this.punchTargets) if (now - t > 30_000) this.punchTargets.delete(k);
      }
      // The command names either our target's current endpoint (the answer to a punch request of
      // ours) or the endpoint of a peer whose request names us: rules.attributePunch says whose.
      const candidates = Array.from(this.peers.values(), (p) => ({
        nodeId: p.nodeId,
        endpoint: p.endpoint && endpointKey(p.endpoint),
        registered: p.registered && endpointKey(p.registered),
        punchRequestedAt: p.punchRequestedAt,
      }));
      const who = rules.attributePunch(candidates, endpointKey(target), now);
      const p = who && this.peers.get(who.nodeId);
      if (p && (who.by === 'request' || now - p.punchRequestedAt < rules.PUNCH_ANSWER_WINDOW_MS)) {
        p.endpoint = target;
        p.punchInvolved = true;
        if (p.establishing) this.opts.onDialStage?.({ stage: 'endpoint', nodeId: p.nodeId, elapsedMs: now - p.establishing.started, endpoint: formatEndpoint(target), source: 'beacon' });
        this.maybeSendKx(p, true, target);
      } else if (p?.relay) {
        // We are the punch target of a relayed peer probing for a direct path: a PILA of ours
        // through the fresh mapping lets it upgrade sooner.
        this.maybeSendKx(p, true, target);
      }
      return;
    }
    this.opts.onBeacon?.(m, from);
  }

  private onPila(frame: Uint8Array, from: UdpEndpoint, relayed: boolean, relaySender?: number): void {
    if (!this.encrypt) return;
    const f = decodePILA(frame);
    if (!rules.relayOriginOk(relayed, relaySender, f.sender)) {
      this.drop('spoofed_source');
      return;
    }
    const rejection = rules.pilaSenderRejection(f.sender, this.nodeIdValue);
    if (rejection) {
      this.drop(rejection);
      return;
    }
    // Judging a key exchange costs a signature check and a key agreement: a budget per claimed
    // sender, spent before either, so a flood of signed exchanges cannot take the CPU from others.
    if (!this.kxGuard.budget(f.sender, this.opts.clock.now())) {
      this.drop('rate_limited', this.peers.get(f.sender));
      return;
    }
    // The signature check against the key the frame claims, done once: judgePila asks for it only
    // after the claimed key matched the registered one.
    let signatureOk: boolean | undefined;
    const signatureValid = (): boolean => (signatureOk ??= verifyPila(this.backend, f.ed25519Public, f.sender, f.x25519Public, f.signature));
    /** Our X25519 pair for a new peer entry, when made while the lookup ran. */
    let spare: KeyPair | undefined;
    // Synchronous when the sender's key is known; otherwise after one bounded registry lookup.
    const wait = this.keys.withKey(f.sender, (registered) => {
      if (this.closed) return;
      // No peer entry for a sender that has not proved itself: forged PILAs must not grow the table.
      const known = this.peers.get(f.sender);
      const verdict = rules.judgePila(registered, f.ed25519Public, signatureValid);
      if (!verdict.accept) {
        if (verdict.refreshKey) this.keys.disagree(f.sender);
        this.drop(verdict.reason, known);
        return;
      }
      this.acceptKx(f.sender, f.x25519Public, f.ed25519Public, from, relayed, spare);
    });
    if (wait === 'refused') this.drop('busy', this.peers.get(f.sender));
    else if (wait === 'queued') {
      // A first contact waits a registry round trip for the sender's key (the lookup's request goes
      // out in this turn's microtasks): do the CPU work the answer needs meanwhile, not after it.
      // Nothing is stored or sent on it: the verdict still compares the claimed key with the
      // registered one before it uses the signature check, and the pair is used only for a peer
      // entry made by an accepted exchange (each session still gets a pair of its own). The budget
      // above was spent before this, as it is before the check itself.
      setImmediate(() => {
        if (this.closed || signatureOk !== undefined) return;
        try {
          signatureValid();
          if (!this.peers.has(f.sender)) spare = this.backend.x25519Generate();
        } catch (e) {
          this.internalFault('key exchange precheck', e, from);
        }
      });
    }
  }

  private acceptKx(nodeId: number, x25519: Uint8Array, ed25519: Uint8Array, from: UdpEndpoint, relayed: boolean, spare?: KeyPair): void {
    const existing = this.peers.get(nodeId);
    const plan = rules.planKeyExchange(!!existing?.cipher, existing?.peerX25519, x25519);
    const { fresh, changed } = plan;
    // Decide before touching any state: a signed exchange with an unusable key (a low-order point
    // gives an all-zero secret) is dropped, and the tunnel we may already have stays as it was.
    let secret: Uint8Array | undefined;
    if ((fresh || changed) && this.kxGuard.isRetired(nodeId, x25519)) {
      this.drop('stale_key', existing);
      const fields: LogFields = { peer: nodeId, endpoint: formatEndpoint(from) };
      if (this.logLimit.allow('stale_key', fields)) this.opts.log.warn('key exchange with a retired X25519 key dropped (replayed?)', fields);
      return;
    }
    // A new peer entry gets a fresh X25519 pair of ours (one per tunnel session), answered below.
    const mine = existing?.x25519 ?? spare ?? this.backend.x25519Generate();
    if (fresh || changed) {
      try {
        secret = this.backend.x25519(mine.privateKey, x25519);
      } catch (e) {
        if (!(e instanceof PilotError) || e.code !== 'bad_key') throw e;
        this.drop('bad_key', existing);
        const fields: LogFields = { peer: nodeId, endpoint: formatEndpoint(from) };
        if (this.logLimit.allow('bad_key', fields)) this.opts.log.warn('key exchange with an unusable X25519 key dropped', fields);
        return;
      }
    }
    const p = existing ?? this.getPeer(nodeId, mine);
    const now = this.opts.clock.now();
    p.counters.keyExchangesReceived++;
    p.lastRecv = now;
    if (secret) {
      p.cipher = new TunnelCipher(this.backend, deriveTunnelKey(this.backend, secret));
      if (changed && p.peerX25519) this.kxGuard.retire(nodeId, p.peerX25519);
      p.peerX25519 = Uint8Array.from(x25519);
      p.peerEd25519 = Uint8Array.from(ed25519);
      p.authenticated = true;
      this.opts.onEvent?.({ type: 'key_exchanged', nodeId: p.nodeId, rekey: changed, relayed });
      this.opts.log.info(changed ? 'peer re-keyed' : 'tunnel key established', { peer: p.nodeId, relayed });
    }
    if (relayed) this.noteRelayed(p);
    else {
      const fromKey = endpointKey(from);
      const punchedAt = this.punchTargets.get(fromKey);
      // A known address, or one the beacon just named for a punch (the peer's fresh NAT mapping).
      const vouched = (!!p.endpoint && endpointKey(p.endpoint) === fromKey) || (punchedAt !== undefined && now - punchedAt < 30_000);
      if (rules.kxMayMoveEndpoint(plan, vouched)) this.noteDirect(p, from);
    }
    // Answer when the peer may not have our key yet: new state, a re-key, or a direct probe
    // reaching us while we relay (that answer is what lets the peer upgrade too).
    if (rules.shouldAnswerKx(plan, now, p.lastKxSent)) this.maybeSendKx(p, true, relayed ? undefined : from);
    this.flushQueue(p);
    if (p.establishing && this.isReady(p.nodeId)) this.upkeep.finishEstablish(p);
  }

  private noteDirect(p: Peer, from: UdpEndpoint): void {
    const now = this.opts.clock.now();
    p.lastDirectRecv = now;
    if (!p.endpoint || p.endpoint.port !== from.port || p.endpoint.host !== from.host) p.endpoint = from;
    // Hot path (every frame of a settled straight path): rules.onDirectFrame changes nothing then.
    if (!p.relay && p.path !== 'pending') return;
    const punchedAt = this.punchTargets.get(endpointKey(from));
    const punchedRecently = punchedAt !== undefined && now - punchedAt < 30_000;
    const change = rules.onDirectFrame(p, punchedRecently, this.kindFor(p));
    if (change.upgraded) this.opts.log.info('upgraded from relay to a direct path', { peer: p.nodeId, endpoint: formatEndpoint(from) });
    this.applyPath(p, change);
  }

  private noteRelayed(p: Peer): void {
    p.counters.relayedIn++;
    // Hot path (every frame of a settled relay): rules.onRelayedFrame changes nothing then.
    if (p.relay && p.path !== 'pending') return;
    this.applyPath(p, rules.onRelayedFrame(p, this.opts.clock.now(), this.kindFor(p)));
  }

  private applyPath(p: Peer, change: rules.PathChange): void {
    p.relay = change.relay;
    p.punchInvolved = change.punchInvolved;
    if (change.path) this.setPath(p, change.path);
  }

  /** Classifies a straight path to `nodeId` from the NAT facts known now (see the path rules at the top). */
  private kindFor(p: Peer): (punchInvolved: boolean) => 'direct' | 'punched' {
    const me = this.opts.selfBehindNat?.();
    const them = this.opts.peerBehindNat?.(p.nodeId);
    const atRegistered = !!p.registered && !!p.endpoint && endpointKey(p.registered) === endpointKey(p.endpoint);
    return (punchInvolved) => rules.directKind(me, them, punchInvolved, atRegistered);
  }

  private flushQueue(p: Peer): void {
    if (!p.cipher || p.queue.length === 0) return;
    const q = p.queue;
    p.queue = [];
    for (const pkt of q) this.transmit(p, this.sealFrame(p.cipher, pkt));
  }

  private onPils(frame: Uint8Array, from: UdpEndpoint, relayed: boolean, relaySender?: number): void {
    const f = decodePILS(frame);
    if (!rules.relayOriginOk(relayed, relaySender, f.sender)) {
      this.drop('spoofed_source');
      return;
    }
    const p = this.peers.get(f.sender);
    if (!this.encrypt) {
      this.drop('no_session', p);
      return;
    }
    if (!p || !p.cipher) {
      this.drop('no_session', p);
      // The peer has state we lost (we restarted): a new key exchange makes it re-key.
      const action = rules.onFrameWithoutSession(!!p, relayed);
      if (action === 'answer_peer' && p) this.maybeSendKx(p, false, relayed ? undefined : from);
      else if (action === 'answer_unknown') this.answerUnknownSession(f.sender, from);
      return;
    }
    let plain: Uint8Array;
    try {
      plain = p.cipher.open(f.nonce, f.sealed);
    } catch (e) {
      const code = (e as PilotError).code;
      this.drop(code === 'replay' ? 'replay' : 'bad_tag', p);
      if (code !== 'replay') this.maybeSendKx(p, false, relayed ? undefined : from);
      return;
    }
    this.acceptInner(p, plain, from, relayed);
  }

  /**
   * A PILS from a node we have no state for: send our key exchange so that it re-keys, without
   * creating a peer entry (the frame is unauthenticated: its sender id may be made up). At most
   * once per sender per retry interval, and the table of senders is bounded.
   *
   * The key is a fresh one each time, never kept: the sender answers with its exchange, which makes
   * a peer entry with another fresh key (acceptKx) and one more round. A key used here twice could
   * be one the sender has already seen replaced, and a node of ours refuses a replaced key as a
   * replay ('stale_key'), which would leave the two sides unable to agree until a silence re-key.
   */
  private answerUnknownSession(sender: number, from: UdpEndpoint): void {
    const now = this.opts.clock.now();
    const last = this.orphanKxAt.get(sender);
    if (last !== undefined && now - last < this.o.kxRetryMs) return;
    if (this.orphanKxAt.size >= MAX_ORPHAN_SENDERS) this.orphanKxAt.clear();
    this.orphanKxAt.set(sender, now);
    this.rawSend(this.kxFrame(this.backend.x25519Generate()), from);
  }

  private onPilt(frame: Uint8Array, from: UdpEndpoint, relayed: boolean, relaySender: number | undefined): void {
    const packet = decodePILT(frame);
    if (this.encrypt) {
      // Plaintext copies (the reference sends them before keys exist) are unauthenticated: refused.
      this.drop('plaintext_refused');
      return;
    }
    const src = packetSourceNode(packet) ?? 0;
    if (!rules.relayOriginOk(relayed, relaySender, src)) {
      this.drop('spoofed_source');
      return;
    }
    const p = this.getPeer(src);
    this.acceptInner(p, packet, from, relayed);
  }

  private acceptInner(p: Peer, packet: Uint8Array, from: UdpEndpoint, relayed: boolean): void {
    // The inner packet's source node must be the tunnel peer (the reference does not check this).
    if (!rules.innerSourceOk(packetSourceNode(packet), p.nodeId)) {
      this.drop('spoofed_source', p);
      return;
    }
    p.lastRecv = this.opts.clock.now();
    p.counters.framesIn++;
    p.counters.bytesIn += packet.length;
    if (relayed) this.noteRelayed(p);
    else this.noteDirect(p, from);
    this.opts.onPacket(packet, p.nodeId);
  }
}

/** The source node id of a marshalled packet (header bytes 6..9), before any full decode. */
function packetSourceNode(packet: Uint8Array): number | undefined {
  return packet.length >= 10 ? u32(packet, 6) : undefined;
}
