/**
 * Registry handlers for identity and presence (registry.md §2.1), the NAT helper (§2.4) and the
 * polo score (§2.5): register, heartbeat, deregister, rotate_key, lookup, resolve,
 * set_visibility, set_task_exec, punch, get/update/set_polo_score.
 */
import { PUBLIC_KEY_B64_RE, hostnameProblem, nodeAddress, type LookupOk, type RegisterOk, type ResolveOk } from '../wire/registry';
import { challenge } from './protocol';
import { fail, type Handlers, type NodeEntry, type RegistryModel } from './registry-model';
import { TokenBucket } from '../util/token-bucket';

function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Port of "host:port" / "[v6]:port", or undefined. */
export function portOf(addr: string): number | undefined {
  const p = /^(?:\[[^\]]*\]|[^:[\]]*):(\d{1,5})$/.exec(addr);
  if (!p) return undefined;
  const port = Number(p[1]);
  return port <= 0xffff ? port : undefined;
}

/**
 * Polo scores stay integers a JSON number carries exactly: an unbounded sum would reach Infinity,
 * which JSON writes as null (a reply no client accepts, a snapshot that no longer loads).
 */
function clampScore(s: number): number {
  return Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, Math.trunc(s)));
}

/** Registration of a key not seen before: rate-limited per source IP, owner may reclaim its id. */
function registerNewKey(m: RegistryModel, key: string, owner: string | undefined, realAddr: string, ip: string, now: number): NodeEntry {
  let bucket = m.registerBuckets.get(ip);
  if (!bucket) {
    bucket = new TokenBucket(m.registerRate / 60, m.registerRate, now);
    m.registerBuckets.set(ip, bucket);
  }
  if (!bucket.take(now)) fail('rate_limited', `more than ${m.registerRate} registrations per minute from ${ip}`);
  let n: NodeEntry;
  const ownerId = owner !== undefined ? m.ownerIdx.get(owner) : undefined;
  if (ownerId !== undefined) {
    // The owner string acts as a bearer credential (registry.md §2.1 rule 3): replace the key.
    const oldKey = m.keyOf.get(ownerId);
    if (oldKey !== undefined && m.keyIdx.get(oldKey) === ownerId) {
      m.keyIdx.delete(oldKey);
      m.dKeys.set(oldKey, undefined);
    }
    const existing = m.nodes.get(ownerId);
    if (existing) {
      n = existing;
      n.publicKey = key;
      n.realAddr = realAddr;
      n.lastSeen = now;
      m.dNodes.add(n.id);
    } else {
      n = m.newNode(ownerId, key, owner, realAddr, now);
    }
  } else {
    const id = m.nextNode;
    if (id > 0xffffffff) fail('unavailable', 'node id space exhausted');
    m.nextNode++;
    m.dCounters = true;
    n = m.newNode(id, key, owner, realAddr, now);
    if (owner !== undefined) {
      m.ownerIdx.set(owner, id);
      m.dOwners.add(owner);
    }
  }
  m.keyIdx.set(key, n.id);
  m.keyOf.set(n.id, key);
  m.dKeys.set(key, n.id);
  return n;
}

export const nodeHandlers = {
  register: (m, req, ctx) => {
    if (!PUBLIC_KEY_B64_RE.test(req.public_key)) fail('invalid_argument', 'public_key must be standard base64 of 32 bytes');
    const port = portOf(req.listen_addr);
    const realAddr = port !== undefined ? joinHostPort(ctx.sourceIp, port) : joinHostPort(ctx.sourceIp, ctx.sourcePort);
    const owner = req.owner || undefined;
    let n: NodeEntry;
    const knownId = m.keyIdx.get(req.public_key);
    if (knownId !== undefined) {
      const existing = m.nodes.get(knownId);
      if (existing) {
        n = existing;
        n.realAddr = realAddr;
        n.lastSeen = ctx.now;
        if (!n.owner && owner) {
          n.owner = owner;
          m.ownerIdx.set(owner, n.id);
          m.dOwners.add(owner);
        }
        m.dNodes.add(n.id);
      } else {
        n = m.newNode(knownId, req.public_key, owner, realAddr, ctx.now);
      }
    } else {
      n = registerNewKey(m, req.public_key, owner, realAddr, ctx.sourceIp, ctx.now);
    }
    if (req.behind_nat !== undefined && n.behindNat !== req.behind_nat) {
      n.behindNat = req.behind_nat;
      m.dNodes.add(n.id);
    }
    const reply: RegisterOk = { type: 'register_ok', node_id: n.id, network_id: 0, address: nodeAddress(n.id), public_key: n.publicKey };
    if (req.hostname !== '') {
      const problem = hostnameProblem(req.hostname);
      if (problem) reply.hostname_error = problem;
      else {
        const holder = m.hostIdx.get(req.hostname);
        if (holder === undefined || holder === n.id) m.setHostname(n, req.hostname);
      }
    }
    if (n.hostname) reply.hostname = n.hostname;
    return reply;
  },

  heartbeat: (m, req, ctx) => {
    const n = m.signedNode(req.node_id, challenge.heartbeat(req.node_id), req.signature);
    n.lastSeen = ctx.now; // not a durable change (see store.ts): snapshots carry last-seen
    return { type: 'heartbeat_ok', time: Math.floor(ctx.now / 1000) };
  },

  deregister: (m, req, ctx) => {
    if (!m.nodes.has(req.node_id)) return { type: 'deregister_ok' };
    m.signedNode(req.node_id, challenge.deregister(req.node_id), req.signature);
    for (const g of m.groupsOf.get(req.node_id) ?? []) {
      const net = m.nets.get(g);
      if (!net) continue;
      net.members.delete(req.node_id);
      m.dNets.add(g);
      m.emit([...net.members, req.node_id], 'member_left', ctx.now, {
        network_id: g,
        name: net.name,
        node_id: req.node_id,
        reason: 'deregistered',
      });
    }
    m.groupsOf.delete(req.node_id);
    m.removeNode(req.node_id);
    return { type: 'deregister_ok' };
  },

  rotate_key: (m, req) => {
    const n = m.signedNode(req.node_id, challenge.rotateKey(req.node_id), req.signature);
    if (!PUBLIC_KEY_B64_RE.test(req.new_public_key)) fail('invalid_argument', 'new_public_key must be standard base64 of 32 bytes');
    const holder = m.keyIdx.get(req.new_public_key);
    if (holder !== undefined && holder !== n.id) fail('already_exists', 'that key belongs to another node');
    if (m.keyIdx.get(n.publicKey) === n.id) {
      m.keyIdx.delete(n.publicKey);
      m.dKeys.set(n.publicKey, undefined);
    }
    n.publicKey = req.new_public_key;
    m.keyIdx.set(n.publicKey, n.id);
    m.keyOf.set(n.id, n.publicKey);
    m.dKeys.set(n.publicKey, n.id);
    m.dNodes.add(n.id);
    return { type: 'rotate_key_ok', node_id: n.id, address: nodeAddress(n.id), public_key: n.publicKey };
  },

  lookup: (m, req) => {
    const n = m.node(req.node_id);
    const reply: LookupOk = {
      type: 'lookup_ok',
      node_id: n.id,
      address: nodeAddress(n.id),
      networks: m.networksOf(n.id),
      public_key: n.publicKey,
      public: n.public,
      polo_score: n.poloScore,
    };
    if (n.hostname) reply.hostname = n.hostname;
    if (n.tags.length > 0) reply.tags = [...n.tags];
    if (n.taskExec) reply.task_exec = true;
    if (n.behindNat !== undefined) reply.behind_nat = n.behindNat;
    if (n.public && n.realAddr) reply.real_addr = n.realAddr;
    return reply;
  },

  resolve: (m, req) => {
    m.signedNode(req.requester_id, challenge.resolve(req.requester_id, req.node_id), req.signature);
    const target = m.node(req.node_id);
    if (!m.visibleTo(target, req.requester_id)) {
      fail('permission_denied', `node ${target.id} is private and shares no trust pair or group with node ${req.requester_id}`);
    }
    // Extension (the reference answers node_id and real_addr only; a client that does not know the
    // fields ignores them): the target's registered key and NAT flag, which anyone may read through
    // `lookup` anyway. A dialler then judges the target's key exchange without a lookup of its own,
    // one registry round trip less on a cold dial.
    const reply: ResolveOk = { type: 'resolve_ok', node_id: target.id, real_addr: target.realAddr, public_key: target.publicKey };
    if (target.behindNat !== undefined) reply.behind_nat = target.behindNat;
    return reply;
  },

  set_visibility: (m, req) => {
    const n = m.signedNode(req.node_id, challenge.setVisibility(req.node_id), req.signature);
    if (n.public !== req.public) {
      m.unindexNode(n);
      n.public = req.public;
      m.indexNode(n);
    }
    m.dNodes.add(n.id);
    return { type: 'set_visibility_ok', node_id: n.id, visibility: n.public ? 'public' : 'private' };
  },

  set_task_exec: (m, req) => {
    const n = m.signedNode(req.node_id, challenge.setTaskExec(req.node_id), req.signature);
    n.taskExec = req.enabled;
    m.dNodes.add(n.id);
    return { type: 'set_task_exec_ok', node_id: n.id, task_exec: n.taskExec };
  },

  punch: (m, req) => {
    if (req.requester_id !== req.node_a && req.requester_id !== req.node_b) fail('permission_denied', 'requester must be node_a or node_b');
    m.signedNode(req.requester_id, challenge.punch(req.node_a, req.node_b), req.signature);
    const a = m.node(req.node_a);
    const b = m.node(req.node_b);
    // Extension: the other side's endpoint only under resolve's visibility rule (the reference returns
    // both to anyone; its daemon never calls punch, so interop is unaffected).
    const other = req.requester_id === a.id ? b : a;
    if (!m.visibleTo(other, req.requester_id)) {
      fail('permission_denied', `node ${other.id} is private and shares no trust pair or group with node ${req.requester_id}`);
    }
    return { type: 'punch_ok', node_a: a.id, node_a_addr: a.realAddr, node_b: b.id, node_b_addr: b.realAddr };
  },

  get_polo_score: (m, req) => {
    const n = m.node(req.node_id);
    return { type: 'get_polo_score_ok', node_id: n.id, address: nodeAddress(n.id), polo_score: n.poloScore };
  },

  update_polo_score: (m, req, ctx) => {
    const n = m.node(req.node_id);
    n.poloScore = clampScore(n.poloScore + Math.trunc(req.delta));
    n.lastSeen = ctx.now;
    m.dNodes.add(n.id);
    return { type: 'update_polo_score_ok', node_id: n.id, address: nodeAddress(n.id), polo_score: n.poloScore };
  },

  set_polo_score: (m, req) => {
    const n = m.node(req.node_id);
    n.poloScore = clampScore(req.polo_score);
    m.dNodes.add(n.id);
    return { type: 'set_polo_score_ok', node_id: n.id, address: nodeAddress(n.id), polo_score: n.poloScore };
  },
} satisfies Partial<Handlers>;
