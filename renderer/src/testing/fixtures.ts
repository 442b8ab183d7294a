/** Builders of contract values for unit tests (no DOM, no Node). */
import type { GroupView, LogLine, PeerDetail, PeerView, SpanView } from '../../../shared/contract';

export function peer(nodeId: number, over: Partial<PeerView> = {}): PeerView {
  return {
    nodeId,
    address: `0:0000.0000.${nodeId.toString(16).toUpperCase().padStart(4, '0')}`,
    hostname: `host-${nodeId}`,
    tags: [],
    groups: [],
    path: 'direct',
    rttHistory: [],
    trust: 'none',
    encrypted: true,
    authenticated: true,
    ...over,
  };
}

export function detail(nodeId: number, over: Partial<PeerDetail> = {}): PeerDetail {
  return {
    ...peer(nodeId),
    pathChanges: 0,
    counters: { bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0, keyExchangesSent: 0, keyExchangesReceived: 0, relayedIn: 0, relayedOut: 0, retransmits: 0, drops: {} },
    connections: [],
    cryptoBackend: 'noble',
    logs: [],
    ...over,
  };
}

export function group(name: string, over: Partial<GroupView> = {}): GroupView {
  return { id: 1, name, joinRule: 'open', members: 0, online: 0, joined: false, ...over };
}

export function span(spanId: string, over: Partial<SpanView> = {}): SpanView {
  return { traceId: 't1', spanId, name: spanId, node: 'a', startMs: 0, durationMs: 1, status: 'ok', attrs: {}, ...over };
}

export function line(msg: string, over: Partial<LogLine> = {}): LogLine {
  return { t: '2026-11-25T00:00:00.000Z', level: 'info', msg, fields: {}, ...over };
}
