/**
 * Tunnel establishment and upkeep, driven by TunnelManager (tunnels.ts) through a small host
 * interface: the key exchange retries, the punch request and the relay fallback while a tunnel is
 * established; every `upgradeIntervalMs`, the direct probes of relayed peers (backing off), the
 * re-key of a silent peer with a fresh X25519 key, and keep-alives for idle direct peers.
 * Decisions are the pure rules of tunnel-rules.ts.
 */
import { PilotError } from '../../shared/errors';
import type { KeyPair } from '../crypto';
import type { Clock, TimerHandle } from '../util/clock';
import type { Logger } from '../util/log';
import type { BeaconMessage } from '../wire/beacon';
import { PILP_FRAME } from '../wire/tunnel';
import * as rules from './tunnel-rules';
import type { Peer } from './tunnel-peer';
import type { DialStage, PathKind } from './tunnel-types';
import { formatEndpoint, type UdpEndpoint } from './udp';

export interface UpkeepConfig {
  punchAfterMs: number;
  relayAfterMs: number;
  establishTimeoutMs: number;
  upgradeIntervalMs: number;
  kxRetryMs: number;
  silenceRekeyMs: number;
}

/** What the upkeep needs of the tunnel manager. */
export interface UpkeepHost {
  readonly clock: Clock;
  readonly log: Logger;
  readonly onDialStage: ((s: DialStage) => void) | undefined;
  readonly config: UpkeepConfig;
  nodeId(): number;
  beacon(): UdpEndpoint | undefined;
  closed(): boolean;
  peers(): Iterable<Peer>;
  isReady(nodeId: number): boolean;
  /** Sends our key exchange to `p` (throttled unless `force`; straight to `direct` if given). */
  sendKx(p: Peer, force?: boolean, direct?: UdpEndpoint): void;
  sendBeacon(msg: BeaconMessage): void;
  setPath(p: Peer, to: PathKind): void;
  rawSend(frame: Uint8Array, to: UdpEndpoint): void;
  newKeyPair(): KeyPair;
}

export class TunnelUpkeep {
  private timer: TimerHandle | undefined;

  constructor(private readonly h: UpkeepHost) {}

  /** Stops the periodic upkeep (establishment timers are the peers'). */
  stop(): void {
    if (this.timer) this.h.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * The peer stopped answering while we kept sending: it may have dropped its state (a reference
   * peer after `untrust`), and it never asks for a key exchange when it cannot decrypt; it answers
   * one only from a new or changed key. So: a fresh X25519 pair for this peer, the old session
   * dropped (frames queue until the answer), our exchange sent, the usual establishment retries.
   */
  rekey(p: Peer, now: number): void {
    p.x25519 = this.h.newKeyPair();
    p.cipher = undefined;
    p.lastRekey = now;
    this.h.log.info('peer silent: re-keying with a fresh X25519 key', { peer: p.nodeId, silentMs: Math.round(now - p.lastRecv) });
    this.h.sendKx(p, true);
    if (!p.establishing) this.startEstablish(p);
  }

  startEstablish(p: Peer): void {
    const started = this.h.clock.now();
    p.establishing = { started, timer: undefined };
    if (p.endpoint) {
      const endpoint = formatEndpoint(p.endpoint);
      this.h.onDialStage?.({ stage: 'endpoint', nodeId: p.nodeId, elapsedMs: 0, endpoint, source: p.registered && formatEndpoint(p.registered) === endpoint ? 'registry' : 'known' });
    }
    const step = (): void => {
      if (this.h.closed() || !p.establishing) return;
      const elapsed = this.h.clock.now() - started;
      if (this.h.isReady(p.nodeId)) {
        this.finishEstablish(p);
        return;
      }
      if (elapsed >= this.h.config.establishTimeoutMs) {
        this.failEstablish(p, new PilotError('unreachable', `no key exchange with node ${p.nodeId} after ${Math.round(elapsed)} ms (direct, punch and relay tried)`, 'check that the peer is running: pilotctl lookup ' + p.nodeId));
        return;
      }
      if (!p.relay && elapsed >= this.h.config.punchAfterMs && p.punchRequestedAt < started && this.h.beacon()) {
        p.punchRequestedAt = this.h.clock.now();
        p.punchInvolved = true;
        this.h.sendBeacon({ type: 'punch_request', requester: this.h.nodeId(), target: p.nodeId });
        this.h.onDialStage?.({ stage: 'punch_request', nodeId: p.nodeId, elapsedMs: elapsed });
      }
      if (!p.relay && (elapsed >= this.h.config.relayAfterMs || !p.endpoint) && this.h.beacon()) {
        this.h.onDialStage?.({ stage: 'relay_fallback', nodeId: p.nodeId, elapsedMs: elapsed, reason: p.endpoint ? 'no_direct_answer' : 'no_endpoint' });
        p.relay = true;
        this.h.setPath(p, 'relay');
        this.h.log.info('switching to relay', { peer: p.nodeId, afterMs: Math.round(elapsed) });
      }
      this.h.sendKx(p);
      p.establishing.timer = this.h.clock.setTimeout(step, this.h.config.kxRetryMs);
    };
    step();
  }

  finishEstablish(p: Peer): void {
    if (p.establishing) {
      const s: DialStage = { stage: 'established', nodeId: p.nodeId, elapsedMs: this.h.clock.now() - p.establishing.started, path: p.path };
      if (!p.relay && p.endpoint) s.endpoint = formatEndpoint(p.endpoint);
      this.h.onDialStage?.(s);
    }
    if (p.establishing?.timer) this.h.clock.clearTimeout(p.establishing.timer);
    p.establishing = undefined;
    const ws = p.waiters;
    p.waiters = [];
    for (const w of ws) w.resolve();
  }

  failEstablish(p: Peer, e: PilotError): void {
    if (p.establishing) this.h.onDialStage?.({ stage: 'failed', nodeId: p.nodeId, elapsedMs: this.h.clock.now() - p.establishing.started, error: e.message });
    if (p.establishing?.timer) this.h.clock.clearTimeout(p.establishing.timer);
    p.establishing = undefined;
    const ws = p.waiters;
    p.waiters = [];
    p.queue = [];
    for (const w of ws) w.reject(e);
  }

  scheduleUpgrade(): void {
    if (this.h.closed()) return;
    this.timer = this.h.clock.setTimeout(() => {
      this.upgradeTick();
      this.scheduleUpgrade();
    }, this.h.config.upgradeIntervalMs);
  }

  /** Relay peers: ask the beacon for a fresh punch and probe the peer's endpoint directly. */
  upgradeTick(): void {
    const now = this.h.clock.now();
    let anyRelay = false;
    for (const p of this.h.peers()) {
      if (p.relay && p.cipher && now - Math.max(p.lastSend, p.lastRecv) < 120_000) {
        anyRelay = true;
        if (now >= p.nextProbeAt) {
          p.probeGap = rules.nextProbeGap(p.probeGap, this.h.config.upgradeIntervalMs);
          p.nextProbeAt = now + p.probeGap;
          p.punchRequestedAt = now;
          this.h.sendBeacon({ type: 'punch_request', requester: this.h.nodeId(), target: p.nodeId });
          if (p.endpoint) this.h.sendKx(p, true, p.endpoint);
        }
      }
      if (p.cipher && rules.silenceRekeyDue(p, now, this.h.config.silenceRekeyMs)) {
        this.rekey(p, now);
      } else if (!p.relay && p.endpoint && now - p.lastSend > 15_000 && now - p.lastRecv < 120_000) {
        // Keep NAT mappings of idle direct peers open.
        this.h.rawSend(PILP_FRAME, p.endpoint);
      }
    }
    // While relaying, keep the beacon's view of our own mapping fresh (the NAT may have changed).
    if (anyRelay) this.h.sendBeacon({ type: 'discover', nodeId: this.h.nodeId() });
  }
}
