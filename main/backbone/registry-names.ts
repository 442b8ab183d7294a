/**
 * Registry handlers for hostnames and tags (registry.md §2.2) and capability search (extension):
 * set_hostname, resolve_hostname, set_tags, find_nodes.
 */
import { hostnameProblem, nodeAddress, normaliseTags, type FoundNode, type ResolveHostnameOk } from '../wire/registry';
import { challenge } from './protocol';
import { fail, seenText, type Handlers, type NodeEntry } from './registry-model';

const FIND_DEFAULT_LIMIT = 100;
const FIND_MAX_LIMIT = 1000;

type IdSet = Iterable<number> & { size: number };

export const nameHandlers = {
  set_hostname: (m, req) => {
    const n = m.signedNode(req.node_id, challenge.setHostname(req.node_id), req.signature);
    const problem = hostnameProblem(req.hostname);
    if (problem) fail('invalid_argument', problem);
    const holder = req.hostname === '' ? undefined : m.hostIdx.get(req.hostname);
    if (holder !== undefined && holder !== n.id) fail('already_exists', `hostname "${req.hostname}" is taken by another node`);
    m.setHostname(n, req.hostname);
    m.dNodes.add(n.id);
    return { type: 'set_hostname_ok', node_id: n.id, hostname: n.hostname ?? '' };
  },

  resolve_hostname: (m, req) => {
    const id = req.hostname === '' ? undefined : m.hostIdx.get(req.hostname);
    const n = id !== undefined ? m.nodes.get(id) : undefined;
    if (!n) return fail('not_found', `no node has hostname "${req.hostname}"`);
    const reply: ResolveHostnameOk = { type: 'resolve_hostname_ok', node_id: n.id, address: nodeAddress(n.id), public: n.public, hostname: req.hostname };
    // Extension: a request signed by a registered node also gets what `resolve` would give that node
    // (the endpoint under the same rule, the key and NAT flag), so a dial by hostname needs one
    // registry round trip instead of two. Unsigned (the reference's form): the reply above only.
    if (req.requester_id !== undefined && req.requester_id !== 0) {
      m.signedNode(req.requester_id, challenge.resolveHostname(req.requester_id, req.hostname), req.signature);
      if (m.visibleTo(n, req.requester_id) && n.realAddr) {
        reply.real_addr = n.realAddr;
        reply.public_key = n.publicKey;
        if (n.behindNat !== undefined) reply.behind_nat = n.behindNat;
      }
    }
    return reply;
  },

  set_tags: (m, req) => {
    const n = m.signedNode(req.node_id, challenge.setTags(req.node_id), req.signature);
    const r = normaliseTags(req.tags ?? []);
    if ('problem' in r) return fail('invalid_argument', `${r.problem} (tags: 1-32 chars of [a-z0-9-], at most 10)`);
    m.unindexNode(n);
    n.tags = r.tags;
    m.indexNode(n);
    m.dNodes.add(n.id);
    return { type: 'set_tags_ok', node_id: n.id, tags: n.tags.length > 0 ? [...n.tags] : null };
  },

  find_nodes: (m, req, ctx) => {
    let requester: number | undefined;
    if (req.requester_id !== undefined && req.requester_id !== 0) {
      m.signedNode(req.requester_id, challenge.findNodes(req.requester_id), req.signature ?? '');
      requester = req.requester_id;
    }
    const limit = Math.min(req.limit ?? FIND_DEFAULT_LIMIT, FIND_MAX_LIMIT);
    const all = (req.tags ?? []).map((t) => (t.startsWith('#') ? t.slice(1) : t));
    const any = (req.any_tags ?? []).map((t) => (t.startsWith('#') ? t.slice(1) : t));
    const hasNet = (req.network !== undefined && req.network !== '') || (req.network_id ?? 0) !== 0;
    const net = hasNet ? m.network(req) : undefined;

    const anySet = any.length > 0 ? new Set(any) : undefined;
    const matches = (n: NodeEntry): boolean =>
      (all.length === 0 || all.every((t) => n.tags.includes(t))) &&
      (!anySet || n.tags.some((t) => anySet.has(t))) &&
      (!net || net.members.has(n.id)) &&
      (!req.hostname_prefix || (n.hostname ?? '').startsWith(req.hostname_prefix));
    /** The smallest id set that contains every match, from the given tag index (or the fallback). */
    const smallest = (idx: Map<string, Set<number>>, fallback: IdSet): IdSet => {
      let best: IdSet = fallback;
      for (const t of all) {
        const s = idx.get(t);
        if (!s) return new Set<number>();
        if (s.size < best.size) best = s;
      }
      if (net && net.members.size < best.size) best = net.members;
      if (any.length > 0) {
        const union = new Set<number>();
        for (const t of any) for (const id of idx.get(t) ?? []) union.add(id);
        if (union.size < best.size) best = union;
      }
      return best;
    };
    const found: FoundNode[] = [];
    const take = (n: NodeEntry): boolean => {
      const f: FoundNode = {
        node_id: n.id,
        address: nodeAddress(n.id),
        tags: [...n.tags],
        public_key: n.publicKey,
        last_seen: seenText(n),
        online: m.online(n, ctx.now),
        public: n.public,
        networks: m.networksOf(n.id),
      };
      if (n.hostname) f.hostname = n.hostname;
      if (n.taskExec) f.task_exec = true;
      found.push(f);
      return found.length >= limit;
    };
    // 1. public nodes, from the public-only indexes
    for (const id of smallest(m.pubTagIdx, m.publicIds)) {
      const n = m.nodes.get(id);
      if (n && n.public && matches(n) && take(n)) break;
    }
    // 2. private nodes the requester may see: itself, trusted peers, group mates
    if (requester !== undefined && found.length < limit) {
      const trusted = m.trust.get(requester);
      const groups = [...(m.groupsOf.get(requester) ?? [])].map((g) => m.nets.get(g)?.members ?? new Set<number>());
      const reach = 1 + (trusted?.size ?? 0) + groups.reduce((a, g) => a + g.size, 0);
      const nodes = m.nodes;
      const allIds = { get size() { return nodes.size; }, [Symbol.iterator]: () => nodes.keys() };
      const scan = smallest(m.tagIdx, allIds);
      const seen = new Set<number>();
      const consider = (id: number): boolean => {
        if (seen.has(id)) return false;
        seen.add(id);
        const n = m.nodes.get(id);
        return n !== undefined && !n.public && matches(n) && take(n);
      };
      if (reach <= scan.size) {
        // few reachable nodes: walk them
        const sources: Iterable<number>[] = [[requester], trusted ?? [], ...groups];
        outer: for (const src of sources) for (const id of src) if (consider(id)) break outer;
      } else {
        for (const id of scan) {
          const n = m.nodes.get(id);
          if (n && !n.public && m.visibleTo(n, requester) && consider(id)) break;
        }
      }
    }
    found.sort((a, b) => a.node_id - b.node_id);
    return { type: 'find_nodes_ok', nodes: found };
  },
} satisfies Partial<Handlers>;
