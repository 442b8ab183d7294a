/**
 * Gathers one trace's spans from every node that took part: this node's own spans name the peers
 * they touched (attributes such as `peer`, `node`, `peer.node_id`, `net.peer.address`, or a span
 * `node` that is an address); each is asked over trace query (port 1010, trace-query.ts), and the
 * peers named in their answers are asked in the next round (bounded rounds and nodes).
 *
 * Clock offsets: before its query each node gets a control ping (RTT); the query reply carries the
 * node's wall clock at the moment it read the query, which happened about RTT/2 after we sent it:
 *     offset = remote clock − (local send time + RTT/2)
 * and a remote span's start on our clock is `startMs − offset` (`adjustedStartMs`). Without a ping
 * answer the query's own round trip stands in for the RTT.
 */
import { backboneAddress, formatAddress, parseAddress } from '../../../shared/address';
import type { CollectedSpan, CollectedTrace, SpanView, TraceNodeView } from '../../../shared/contract';
import { toPilotError } from '../../../shared/errors';
import type { PilotNode } from '../node';
import { queryTrace, spanClock } from './trace-query';

export interface CollectOptions {
  /** Rounds of asking newly named nodes (default 3). */
  rounds?: number;
  /** At most this many remote nodes are asked (default 32). */
  maxNodes?: number;
  /** Per node: ping and query timeout (default 5 s). */
  timeoutMs?: number;
  /** Nodes to ask in the first round besides those the local spans name. */
  peers?: number[];
}

const PEER_KEY = /peer|remote|node|target|(^|[._])(from|to)$/i;

function nodeIdOf(v: string | number | boolean): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v > 0 && v < 0xffffffff ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    return n > 0 && n < 0xffffffff ? n : undefined;
  }
  if (!t.includes(':') || !t.includes('.')) return undefined;
  try {
    const a = parseAddress(t.split(/\s|:\d+$/)[0] ?? t);
    return a.node > 0 && a.node < 0xffffffff ? a.node : undefined;
  } catch {
    return undefined;
  }
}

/** The node ids a set of spans names (peer-like attributes, and span nodes given as addresses). */
export function nodesNamedBy(spans: readonly SpanView[]): Set<number> {
  const out = new Set<number>();
  for (const s of spans) {
    for (const t of [s.node, s.nodeAddr]) {
      const own = t === undefined ? undefined : nodeIdOf(t);
      if (own !== undefined) out.add(own);
    }
    for (const [k, v] of Object.entries(s.attrs)) {
      if (!PEER_KEY.test(k)) continue;
      const id = nodeIdOf(v);
      if (id !== undefined) out.add(id);
    }
  }
  return out;
}

/** Offset of a remote clock (ms, remote − local) from one query: see the file comment. */
export function clockOffset(remoteNowMs: number, localSentMs: number, rttMs: number): number {
  return remoteNowMs - (localSentMs + rttMs / 2);
}

/** Merges per-node answers into lanes: spans deduplicated by span id, starts on the local clock. */
export function mergeTrace(traceId: string, lanes: { node: TraceNodeView; spans: SpanView[] }[]): CollectedTrace {
  const seen = new Set<string>();
  const spans: CollectedSpan[] = [];
  const nodes: TraceNodeView[] = [];
  for (const l of lanes) {
    let n = 0;
    for (const s of l.spans) {
      if (s.traceId !== traceId || seen.has(s.spanId)) continue;
      seen.add(s.spanId);
      n++;
      spans.push({ ...s, lane: l.node.address, adjustedStartMs: s.startMs - l.node.offsetMs });
    }
    nodes.push({ ...l.node, spans: n });
  }
  spans.sort((a, b) => a.adjustedStartMs - b.adjustedStartMs);
  return { traceId, nodes, spans };
}

export async function collectTrace(node: PilotNode, localSpans: (traceId: string) => SpanView[], traceId: string, o: CollectOptions = {}): Promise<CollectedTrace> {
  const rounds = o.rounds ?? 3;
  const maxNodes = o.maxNodes ?? 32;
  const timeoutMs = o.timeoutMs ?? 5000;
  const me = node.nodeId;
  const mine = localSpans(traceId);
  const self: TraceNodeView = { address: formatAddress(node.address), nodeId: me, self: true, offsetMs: 0, spans: 0 };
  if (node.hostname) self.hostname = node.hostname;
  const lanes: { node: TraceNodeView; spans: SpanView[] }[] = [{ node: self, spans: mine }];
  const asked = new Set<number>([me]);
  let next = [...new Set([...(o.peers ?? []), ...nodesNamedBy(mine)])].filter((id) => !asked.has(id));
  for (let r = 0; r < rounds && next.length > 0; r++) {
    const batch = next.slice(0, Math.max(0, maxNodes - (asked.size - 1)));
    for (const id of batch) asked.add(id);
    const answers = await Promise.all(batch.map((id) => askNode(node, id, traceId, timeoutMs)));
    lanes.push(...answers);
    next = [...nodesNamedBy(answers.flatMap((a) => a.spans))].filter((id) => !asked.has(id));
  }
  return mergeTrace(traceId, lanes);
}

async function askNode(node: PilotNode, nodeId: number, traceId: string, timeoutMs: number): Promise<{ node: TraceNodeView; spans: SpanView[] }> {
  const view: TraceNodeView = { address: formatAddress(backboneAddress(nodeId)), nodeId, self: false, offsetMs: 0, spans: 0 };
  const hostname = node.peers.get(nodeId)?.hostname;
  if (hostname) view.hostname = hostname;
  try {
    let rtt: number | undefined;
    try {
      rtt = await node.controlPing(nodeId, timeoutMs);
      view.rttMs = rtt;
    } catch {
      // no ping answer: the query's round trip is used below
    }
    let sent = spanClock();
    const reply = await queryTrace(node, nodeId, traceId, { timeoutMs, onSent: (t) => (sent = t) });
    const back = spanClock();
    view.offsetMs = Math.round(clockOffset(reply.nowMs, sent, rtt ?? back - sent) * 1000) / 1000;
    if (reply.hostname) view.hostname = reply.hostname;
    if (reply.truncated) view.truncated = true;
    return { node: view, spans: reply.spans };
  } catch (e) {
    view.error = toPilotError(e).message;
    return { node: view, spans: [] };
  }
}
