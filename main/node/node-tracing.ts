/**
 * Dial spans of a node: `tunnel.establish` (one per establishment, whoever asked first) with
 * an `endpoint.tried` event per address its key exchange went to (the registered endpoint, or one
 * the beacon observed and named in a punch command) and the answering `endpoint` attribute; children
 * `key_exchange` (until frames can flow), `punch` (one per punch request, until the tunnel
 * is up, the relay takes over or it fails) and `relay` (from the fallback, with its reason, until
 * the tunnel is up); later, `tunnel.upgrade` when a relayed peer switches to a direct path (a child
 * of the establishment that fell back, so it lands in the same trace). Fed by the tunnel layer's
 * stage observer and path events; no decision depends on it. Bounded: one entry per peer being
 * established, at most MAX_RELAYED remembered relay fallbacks.
 */
import type { ParentLike, Span, Tracer } from '../observe/tracer';
import type { DialStage, TunnelEvent } from './tunnel-types';

const MAX_RELAYED = 1024;

interface Pending {
  establish: Span;
  kx: Span | undefined;
  punch: Span | undefined;
  relay: Span | undefined;
}

export class DialTracing {
  private readonly pending = new Map<number, Pending>();
  private readonly relayed = new Map<number, { parent: { traceId: string; spanId: string }; at: number }>();

  constructor(
    private readonly tracer: Tracer,
    private readonly now: () => number,
  ) {}

  /** The establishment span for `nodeId` when this caller is the first to ask; else undefined. */
  begin(nodeId: number, parent: ParentLike): Span | undefined {
    if (!this.tracer.enabled || this.pending.has(nodeId)) return undefined;
    const establish = this.tracer.start('tunnel.establish', parent, { 'peer.node_id': nodeId }, 'client');
    this.pending.set(nodeId, { establish, kx: undefined, punch: undefined, relay: undefined });
    return establish;
  }

  /** The establishment span in progress for `nodeId` (parent of its registry lookups). */
  current(nodeId: number): Span | undefined {
    return this.pending.get(nodeId)?.establish;
  }

  /** The key exchange starts (after the endpoint was resolved). */
  keyExchange(nodeId: number): void {
    const p = this.pending.get(nodeId);
    if (p && !p.kx) p.kx = p.establish.child('key_exchange');
  }

  /** The establishment is over (the owner's side): ends whatever is still open. */
  end(nodeId: number, span: Span, error?: unknown): void {
    const p = this.pending.get(nodeId);
    if (p?.establish !== span) return;
    this.pending.delete(nodeId);
    for (const s of [p.punch, p.relay, p.kx]) {
      if (!s) continue;
      if (error === undefined) s.end();
      else s.fail(error);
    }
    if (error === undefined) span.end();
    else span.fail(error);
  }

  stage(s: DialStage): void {
    const p = this.pending.get(s.nodeId);
    if (!p) return;
    const parent = p.kx ?? p.establish;
    switch (s.stage) {
      case 'punch_request':
        p.punch?.end('error');
        p.punch = parent.child('punch', { 'punch.after_ms': Math.round(s.elapsedMs) });
        return;
      case 'relay_fallback':
        if (p.punch) {
          p.punch.set('punch.outcome', 'no direct path');
          p.punch.end('error');
          p.punch = undefined;
        }
        p.relay = parent.child('relay', { 'relay.reason': s.reason, 'relay.after_ms': Math.round(s.elapsedMs) });
        if (this.relayed.size >= MAX_RELAYED) this.relayed.delete(this.relayed.keys().next().value as number);
        this.relayed.set(s.nodeId, { parent: { traceId: p.establish.traceId, spanId: p.establish.spanId }, at: this.now() });
        return;
      case 'endpoint':
        p.establish.event('endpoint.tried', { endpoint: s.endpoint, source: s.source, 'at_ms': Math.round(s.elapsedMs) });
        return;
      case 'established':
        p.establish.set('path', s.path);
        if (s.endpoint) p.establish.set('endpoint', s.endpoint);
        p.establish.set('establish_ms', Math.round(s.elapsedMs));
        p.punch?.set('punch.outcome', s.path);
        p.punch?.end();
        p.punch = undefined;
        p.relay?.end();
        p.relay = undefined;
        p.kx?.end();
        p.kx = undefined;
        return;
      case 'failed':
        for (const x of [p.punch, p.relay, p.kx]) x?.fail(s.error);
        p.punch = p.relay = p.kx = undefined;
        return;
    }
  }

  /** A relayed peer that switches to a direct path: the later upgrade, in the fallback's trace. */
  pathChanged(ev: TunnelEvent): void {
    if (ev.type !== 'path_changed' || ev.from !== 'relay' || ev.to === 'relay' || ev.to === 'pending') return;
    const r = this.relayed.get(ev.nodeId);
    if (!r) return;
    this.relayed.delete(ev.nodeId);
    const span = this.tracer.start('tunnel.upgrade', r.parent, { 'peer.node_id': ev.nodeId, path: ev.to, 'relay.duration_ms': Math.round(this.now() - r.at) });
    span.end();
  }
}
