/**
 * Choosing a worker for a task: the online node with a tag (optionally in a group) that answers a
 * control ping fastest.
 */
import { backboneAddress, formatAddress } from '../../../shared/address';
import { PilotError } from '../../../shared/errors';
import type { FoundNode } from '../../wire/registry';
import type { PilotNode } from '../node';

export interface BestMember {
  nodeId: number;
  address: string;
  hostname?: string;
  rttMs: number;
  /** Why this one: human-readable. */
  reason: string;
  candidates: { nodeId: number; hostname?: string; rttMs?: number; error?: string }[];
}

/**
 * Picks a worker for `tag` (optionally inside a group): candidates from the registry's `find_nodes`
 * (online, not this node), each control-pinged in parallel; the lowest RTT wins, ties by node id.
 * (Queue length is not advertised by any node today, so load is not part of the choice.)
 */
export async function bestMember(node: PilotNode, q: { tag: string; group?: string | number; pingTimeoutMs?: number }): Promise<BestMember> {
  const tag = q.tag.replace(/^#/, '');
  const found = await node.registry.findNodes({
    tags: [tag],
    ...(typeof q.group === 'number' ? { networkId: q.group } : q.group !== undefined ? { network: q.group } : {}),
  });
  const nodes: FoundNode[] = found.nodes.filter((n) => n.node_id !== node.nodeId && n.online);
  if (nodes.length === 0) {
    throw new PilotError('not_found', `no online node with tag #${tag}${q.group !== undefined ? ` in group ${q.group}` : ''}`, 'tag a node with: pilotctl set-tags <tag>');
  }
  const timeout = q.pingTimeoutMs ?? 2000;
  type Candidate = BestMember['candidates'][number];
  const candidates = await Promise.all(
    nodes.map(async (n): Promise<Candidate> => {
      const base = { nodeId: n.node_id, ...(n.hostname ? { hostname: n.hostname } : {}) };
      try {
        const rtt = await node.controlPing(n.node_id, timeout);
        node.recordRtt(n.node_id, rtt);
        return { ...base, rttMs: rtt };
      } catch (e) {
        return { ...base, error: e instanceof Error ? e.message : String(e) };
      }
    }),
  );
  const reachable = candidates.filter((c): c is Candidate & { rttMs: number } => c.rttMs !== undefined);
  if (reachable.length === 0) throw new PilotError('unreachable', `none of the ${nodes.length} node(s) with tag #${tag} answered a ping`);
  reachable.sort((a, b) => a.rttMs - b.rttMs || a.nodeId - b.nodeId);
  const best = reachable[0]!;
  return {
    nodeId: best.nodeId,
    address: formatAddress(backboneAddress(best.nodeId)),
    ...(best.hostname ? { hostname: best.hostname } : {}),
    rttMs: best.rttMs,
    reason: `lowest RTT (${best.rttMs.toFixed(2)} ms) of ${reachable.length} reachable node(s) tagged #${tag}${q.group !== undefined ? ` in group ${q.group}` : ''}`,
    candidates,
  };
}
