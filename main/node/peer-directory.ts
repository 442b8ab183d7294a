/**
 * What the node knows of other nodes and how it finds them: peer records (hostname, tags, groups,
 * NAT flag, key, RTTs), targets given as an address, a node id or a hostname, and the endpoint a
 * dial starts from. The registry and the tunnel layer are reached through a small host interface;
 * PilotNode (node.ts) owns one PeerDirectory and exposes its records as `peers`.
 *
 * Registry round trips on a cold dial: a signed resolve_hostname answers the endpoint and key too
 * (our registry's extension), kept here for the dial that follows; otherwise `resolve`, whose reply
 * also carries the key. Either way no lookup is on the dial's path, so the peer's record (hostname,
 * tags, groups) is filled by one lookup in the background once the tunnel is up.
 */
import { PilotError, isPilotError } from '../../shared/errors';
import { backboneAddress, parseAddress } from '../../shared/address';
import type { ParentLike, Span } from '../observe/tracer';
import type { Clock } from '../util/clock';
import type { Logger } from '../util/log';
import { fromBase64 } from '../util/bytes';
import type { ResolveHostnameOk } from '../wire/registry';
import type { RegistryClient } from './registry-client';
import type { TunnelManager } from './tunnels';
import { parseEndpoint, type UdpEndpoint } from './udp';
import type { PeerRecord, ResolvedTarget } from './node-types';

/** How long an endpoint from resolve_hostname serves the dial that follows it (taken once). */
const RESOLVED_ENDPOINT_MS = 10_000;
const MAX_RESOLVED_ENDPOINTS = 256;

export interface PeerDirectoryHost {
  readonly clock: Clock;
  readonly log: Logger;
  /** The registry client once the node started, else undefined. */
  registry(): RegistryClient | undefined;
  tunnels(): TunnelManager;
  /** Our node id (0 until registered). */
  nodeId(): number;
  /** The span of a dial to `nodeId` in progress (a key lookup made for it hangs under it). */
  dialParent(nodeId: number): ParentLike | undefined;
}

type RecordFields = { hostname?: string; tags?: string[]; public_key?: string; networks?: number[]; behind_nat?: boolean };

export class PeerDirectory {
  readonly records = new Map<number, PeerRecord>();
  /** Nodes whose record a background lookup is filling (backfill). */
  private readonly backfilling = new Set<number>();
  /** Endpoints a signed resolve_hostname gave, for the dial that follows: taken once, fresh for RESOLVED_ENDPOINT_MS. */
  private readonly resolvedEndpoints = new Map<number, { endpoint: UdpEndpoint; at: number }>();

  constructor(private readonly h: PeerDirectoryHost) {}

  private get registry(): RegistryClient {
    const r = this.h.registry();
    if (!r) throw new PilotError('not_running', 'node is not started');
    return r;
  }

  record(nodeId: number): PeerRecord {
    let p = this.records.get(nodeId);
    if (!p) {
      p = { nodeId, tags: [], networks: [], rtt: [] };
      this.records.set(nodeId, p);
    }
    return p;
  }

  /** What a lookup said about a node. */
  note(nodeId: number, r: RecordFields): PeerRecord {
    const p = this.record(nodeId);
    if (r.behind_nat !== undefined) p.behindNat = r.behind_nat;
    if (r.hostname !== undefined) p.hostname = r.hostname;
    if (r.tags) p.tags = r.tags;
    if (r.public_key) p.publicKey = r.public_key;
    if (r.networks) p.networks = r.networks;
    p.lastRefreshed = this.h.clock.now();
    return p;
  }

  /** The registered key of a node (the tunnel layer's key directory asks when a key exchange arrives). */
  async lookupKey(nodeId: number): Promise<Uint8Array | undefined> {
    try {
      const r = await this.registry.lookup(nodeId, this.h.dialParent(nodeId));
      this.note(nodeId, r);
      return fromBase64(r.public_key, 32);
    } catch (e) {
      this.h.log.debug('key lookup failed', { peer: nodeId, error: String(e) });
      return undefined;
    }
  }

  /**
   * A hostname at the registry, signed once we are registered: our registry then answers with the
   * endpoint and key too (what `resolve` would say), kept for the dial that usually follows (one
   * registry round trip instead of two). The hostname goes to the peer record either way.
   */
  async resolveHostname(hostname: string, parent?: ParentLike): Promise<ResolveHostnameOk> {
    const r = await this.registry.resolveHostname(hostname, parent, { withEndpoint: this.h.nodeId() !== 0 });
    this.record(r.node_id).hostname = r.hostname;
    const endpoint = this.noteResolved(r.node_id, r);
    if (endpoint) {
      if (this.resolvedEndpoints.size >= MAX_RESOLVED_ENDPOINTS) this.resolvedEndpoints.clear();
      this.resolvedEndpoints.set(r.node_id, { endpoint, at: this.h.clock.now() });
    }
    return r;
  }

  /** `0:0000.0000.0007`, a decimal node id, or a hostname (resolved at the registry). */
  async resolveTarget(text: string, parent?: ParentLike): Promise<ResolvedTarget> {
    const t = text.trim();
    if (t.includes(':')) {
      const a = parseAddress(t);
      return { nodeId: a.node, address: a };
    }
    if (/^\d+$/.test(t)) {
      const n = Number(t);
      if (n < 1 || n > 0xffffffff) throw new PilotError('invalid_argument', `node id out of range: ${t}`, 'node ids are 1..4294967295');
      return { nodeId: n, address: backboneAddress(n) };
    }
    try {
      const r = await this.resolveHostname(t, parent);
      return { nodeId: r.node_id, address: backboneAddress(r.node_id), hostname: r.hostname };
    } catch (e) {
      if (isPilotError(e) && e.code !== 'connection_failed' && e.code !== 'timeout') {
        throw new PilotError('not_found', `cannot resolve "${t}" — is the hostname correct?`, 'list hostnames and tags with: pilotctl find --tag <tag>');
      }
      throw e;
    }
  }

  /**
   * Where a dial to `nodeId` starts: the endpoint a resolve_hostname just gave (no resolve), else the
   * one `resolve` gives (its key and NAT flag noted on the way).
   */
  async dialEndpoint(nodeId: number, span: Span | undefined): Promise<UdpEndpoint | undefined> {
    const early = this.resolvedEndpoints.get(nodeId);
    this.resolvedEndpoints.delete(nodeId);
    if (early && this.h.clock.now() - early.at < RESOLVED_ENDPOINT_MS) return early.endpoint;
    try {
      return this.noteResolved(nodeId, await this.registry.resolve(nodeId, span));
    } catch (e) {
      if (isPilotError(e) && (e.code === 'connection_failed' || e.code === 'timeout')) throw e;
      throw new PilotError(
        'permission_denied',
        `cannot reach node ${nodeId}: the registry will not give out its endpoint (it is private, or unknown)`,
        `ask for trust first: pilotctl handshake ${nodeId} "reason"`,
      );
    }
  }

  /**
   * A peer's hostname, tags and groups, looked up once, in the background, after a dial that did not
   * need the lookup for the peer's key (our registry's resolve carries the key): off the dial's path,
   * yet `peers` and the console still name the peer and show its tags.
   */
  backfill(nodeId: number): void {
    const registry = this.h.registry();
    if (this.records.get(nodeId)?.lastRefreshed !== undefined || this.backfilling.has(nodeId) || !registry) return;
    this.backfilling.add(nodeId);
    registry.lookup(nodeId).then(
      (r) => {
        this.backfilling.delete(nodeId);
        this.note(nodeId, r);
      },
      (e: unknown) => {
        this.backfilling.delete(nodeId);
        this.h.log.debug('peer record lookup failed', { peer: nodeId, error: String(e) });
      },
    );
  }

  /**
   * What a resolve (or a signed resolve_hostname) said about a node: its registered key goes to the
   * tunnel layer (to judge its key exchange without a lookup), its NAT flag to the peer record; the
   * endpoint is returned.
   */
  private noteResolved(nodeId: number, r: { real_addr?: string; public_key?: string; behind_nat?: boolean }): UdpEndpoint | undefined {
    if (r.public_key !== undefined) this.h.tunnels().rememberKey(nodeId, fromBase64(r.public_key, 32));
    if (r.behind_nat !== undefined) this.record(nodeId).behindNat = r.behind_nat;
    return r.real_addr === undefined ? undefined : parseEndpoint(r.real_addr);
  }
}
