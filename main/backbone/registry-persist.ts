/**
 * The registry model on disk: the write-ahead-log records every change produces (in
 * order-insensitive "put" form) and the snapshot, both close to the reference store file
 * (registry.md §5). store.ts writes them without looking inside; this file is the only one that
 * knows their shape, and existing data directories must keep loading: change it compatibly only.
 */
import { z } from 'zod';
import { JOIN_RULES, rfc3339 } from '../wire/registry';
import type { NetworkEntry, NodeEntry, RegistryModel } from './registry-model';

const nodeJson = z.object({
  id: z.number().int().min(1).max(0xffffffff),
  owner: z.string().optional(),
  public_key: z.string(),
  real_addr: z.string().optional(),
  networks: z.array(z.number()).optional(),
  public: z.boolean().optional(),
  last_seen: z.string().optional(),
  hostname: z.string().optional(),
  tags: z.array(z.string()).nullable().optional(),
  polo_score: z.number().optional(),
  task_exec: z.boolean().optional(),
  behind_nat: z.boolean().optional(),
});
export type NodeJson = z.infer<typeof nodeJson>;

const netJson = z.object({
  id: z.number().int().min(1).max(0xffff),
  name: z.string(),
  join_rule: z.enum(JOIN_RULES),
  token: z.string().optional(),
  members: z.array(z.number()),
  created: z.string().optional(),
});
export type NetworkJson = z.infer<typeof netJson>;

const inboxReqJson = z.object({ from_node_id: z.number(), justification: z.string(), timestamp: z.string() });
const inboxRespJson = z.object({ from_node_id: z.number(), accept: z.boolean(), timestamp: z.string() });

export const storeRecord = z.discriminatedUnion('r', [
  z.object({ r: z.literal('node'), node: nodeJson }),
  z.object({ r: z.literal('node_del'), id: z.number() }),
  z.object({ r: z.literal('key'), key: z.string(), id: z.number() }),
  z.object({ r: z.literal('key_del'), key: z.string() }),
  z.object({ r: z.literal('owner'), owner: z.string(), id: z.number() }),
  z.object({ r: z.literal('trust'), pair: z.string(), on: z.boolean() }),
  z.object({ r: z.literal('inbox'), id: z.number(), requests: z.array(inboxReqJson), responses: z.array(inboxRespJson) }),
  z.object({ r: z.literal('net'), net: netJson }),
  z.object({ r: z.literal('counters'), next_node: z.number(), next_net: z.number() }),
]);
export type StoreRecord = z.infer<typeof storeRecord>;

export const snapshotJson = z.object({
  version: z.number().optional(),
  next_node: z.number(),
  next_net: z.number(),
  nodes: z.record(z.string(), nodeJson),
  networks: z.record(z.string(), z.unknown()).optional(),
  trust_pairs: z.array(z.string()).optional(),
  pub_key_idx: z.record(z.string(), z.number()).optional(),
  owner_idx: z.record(z.string(), z.number()).optional(),
  handshake_inbox: z.record(z.string(), z.array(inboxReqJson)).optional(),
  handshake_responses: z.record(z.string(), z.array(inboxRespJson)).optional(),
});
export type SnapshotJson = z.infer<typeof snapshotJson>;

// --------------------------------------------------------------------------------------------
// Model → records and snapshot

/** Durable records for every change since the last call; clears the change tracking. */
export function takeRecords(m: RegistryModel): StoreRecord[] {
  const out: StoreRecord[] = [];
  if (m.dCounters) out.push({ r: 'counters', next_node: m.nextNode, next_net: m.nextNet });
  for (const [key, id] of m.dKeys) out.push(id === undefined ? { r: 'key_del', key } : { r: 'key', key, id });
  for (const owner of m.dOwners) {
    const id = m.ownerIdx.get(owner);
    if (id !== undefined) out.push({ r: 'owner', owner, id });
  }
  for (const id of m.dNodes) {
    const n = m.nodes.get(id);
    out.push(n ? { r: 'node', node: nodeToJson(m, n) } : { r: 'node_del', id });
  }
  for (const id of m.dNets) {
    const n = m.nets.get(id);
    if (n) out.push({ r: 'net', net: netToJson(n) });
  }
  for (const [pair, on] of m.dTrust) out.push({ r: 'trust', pair, on });
  for (const id of m.dInbox) out.push(inboxRecord(m, id));
  m.dCounters = false;
  m.dKeys.clear();
  m.dOwners.clear();
  m.dNodes.clear();
  m.dNets.clear();
  m.dTrust.clear();
  m.dInbox.clear();
  return out;
}

export function snapshot(m: RegistryModel): SnapshotJson {
  const nodes: Record<string, NodeJson> = {};
  for (const n of m.nodes.values()) nodes[String(n.id)] = nodeToJson(m, n);
  const networks: Record<string, NetworkJson> = {};
  for (const n of m.nets.values()) networks[String(n.id)] = netToJson(n);
  const trustPairs: string[] = [];
  for (const [a, peers] of m.trust) for (const b of peers) if (a < b) trustPairs.push(`${a}:${b}`);
  const inbox: SnapshotJson['handshake_inbox'] = {};
  const resp: SnapshotJson['handshake_responses'] = {};
  for (const id of new Set([...m.inbox.keys(), ...m.responses.keys()])) {
    const rec = inboxRecord(m, id);
    if (rec.requests.length > 0) inbox[String(id)] = rec.requests;
    if (rec.responses.length > 0) resp[String(id)] = rec.responses;
  }
  return {
    version: 1,
    next_node: m.nextNode,
    next_net: m.nextNet,
    nodes,
    networks,
    trust_pairs: trustPairs,
    pub_key_idx: Object.fromEntries(m.keyIdx),
    owner_idx: Object.fromEntries(m.ownerIdx),
    handshake_inbox: inbox,
    handshake_responses: resp,
  };
}

function nodeToJson(m: RegistryModel, n: NodeEntry): NodeJson {
  const j: NodeJson = { id: n.id, public_key: n.publicKey, networks: m.networksOf(n.id) };
  if (n.owner) j.owner = n.owner;
  if (n.realAddr) j.real_addr = n.realAddr;
  if (n.public) j.public = true;
  j.last_seen = rfc3339(n.lastSeen);
  if (n.hostname) j.hostname = n.hostname;
  if (n.tags.length > 0) j.tags = [...n.tags];
  if (n.poloScore !== 0) j.polo_score = n.poloScore;
  if (n.taskExec) j.task_exec = true;
  if (n.behindNat !== undefined) j.behind_nat = n.behindNat;
  return j;
}

function netToJson(n: NetworkEntry): NetworkJson {
  const j: NetworkJson = { id: n.id, name: n.name, join_rule: n.joinRule, members: [...n.members].sort((a, b) => a - b) };
  if (n.token) j.token = n.token;
  j.created = rfc3339(n.created);
  return j;
}

function inboxRecord(m: RegistryModel, id: number): Extract<StoreRecord, { r: 'inbox' }> {
  return {
    r: 'inbox',
    id,
    requests: (m.inbox.get(id) ?? []).map((q) => ({ from_node_id: q.from, justification: q.justification, timestamp: rfc3339(q.at) })),
    responses: (m.responses.get(id) ?? []).map((q) => ({ from_node_id: q.from, accept: q.accept, timestamp: rfc3339(q.at) })),
  };
}

// --------------------------------------------------------------------------------------------
// Snapshot and records → model

/** Loads a snapshot and replays records over it (invalid records are skipped and counted). */
export function restore(m: RegistryModel, snap: unknown, records: readonly unknown[], now: number): { skipped: number } {
  let skipped = 0;
  if (snap !== undefined) {
    const s = snapshotJson.parse(snap);
    m.nextNode = Math.max(1, s.next_node);
    m.nextNet = Math.max(1, s.next_net);
    for (const [k, id] of Object.entries(s.pub_key_idx ?? {})) putKey(m, k, id);
    for (const [o, id] of Object.entries(s.owner_idx ?? {})) m.ownerIdx.set(o, id);
    for (const nj of Object.values(s.nodes)) putNode(m, nj);
    for (const raw of Object.values(s.networks ?? {})) {
      const r = netJson.safeParse(raw);
      if (r.success) putNet(m, r.data);
      else skipped++; // e.g. the reference's network 0 entry
    }
    for (const p of s.trust_pairs ?? []) putTrust(m, p, true);
    for (const [id, reqs] of Object.entries(s.handshake_inbox ?? {})) putInbox(m, Number(id), reqs, undefined);
    for (const [id, resps] of Object.entries(s.handshake_responses ?? {})) putInbox(m, Number(id), undefined, resps);
  }
  for (const raw of records) {
    const r = storeRecord.safeParse(raw);
    if (!r.success) {
      skipped++;
      continue;
    }
    applyRecord(m, r.data);
  }
  m.startedAt = now;
  takeRecords(m);
  m.events = [];
  return { skipped };
}

/**
 * A record, or a deletion only a replicated directory expresses (etcd mode: a key that is absent).
 * The etcd mirror (etcd/directory.ts) feeds the model with these.
 */
export type MirrorRecord = StoreRecord | { r: 'owner_del'; owner: string } | { r: 'net_del'; id: number };

/** Applies records to a running model (the etcd mirror) and drops the change tracking they cause. */
export function applyMirror(m: RegistryModel, records: readonly MirrorRecord[]): void {
  for (const r of records) {
    if (r.r === 'owner_del') m.ownerIdx.delete(r.owner);
    else if (r.r === 'net_del') {
      const old = m.nets.get(r.id);
      if (old) {
        for (const member of old.members) m.groupsOf.get(member)?.delete(r.id);
        m.netByName.delete(old.name);
        m.nets.delete(r.id);
      }
    } else applyRecord(m, r);
  }
  takeRecords(m);
}

function applyRecord(m: RegistryModel, r: StoreRecord): void {
  switch (r.r) {
    case 'node':
      putNode(m, r.node);
      break;
    case 'node_del':
      if (m.nodes.has(r.id)) m.removeNode(r.id);
      break;
    case 'key':
      putKey(m, r.key, r.id);
      break;
    case 'key_del': {
      const id = m.keyIdx.get(r.key);
      m.keyIdx.delete(r.key);
      if (id !== undefined && m.keyOf.get(id) === r.key) m.keyOf.delete(id);
      break;
    }
    case 'owner':
      m.ownerIdx.set(r.owner, r.id);
      break;
    case 'trust':
      putTrust(m, r.pair, r.on);
      break;
    case 'inbox':
      putInbox(m, r.id, r.requests, r.responses);
      break;
    case 'net':
      putNet(m, r.net);
      break;
    case 'counters':
      m.nextNode = Math.max(1, r.next_node);
      m.nextNet = Math.max(1, r.next_net);
      break;
  }
}

function putKey(m: RegistryModel, key: string, id: number): void {
  m.keyIdx.set(key, id);
  m.keyOf.set(id, key);
}

function putNode(m: RegistryModel, j: NodeJson): void {
  const existing = m.nodes.get(j.id);
  if (existing) m.removeNode(j.id);
  const lastSeen = j.last_seen ? Date.parse(j.last_seen) : 0;
  const n: NodeEntry = {
    id: j.id,
    owner: j.owner || undefined,
    publicKey: j.public_key,
    realAddr: j.real_addr ?? '',
    public: j.public ?? false,
    lastSeen: Number.isFinite(lastSeen) ? lastSeen : 0,
    hostname: j.hostname || undefined,
    tags: [...(j.tags ?? [])],
    poloScore: Math.trunc(j.polo_score ?? 0),
    taskExec: j.task_exec ?? false,
    ...(j.behind_nat !== undefined ? { behindNat: j.behind_nat } : {}),
  };
  m.nodes.set(n.id, n);
  if (n.hostname) m.hostIdx.set(n.hostname, n.id);
  m.indexNode(n);
  if (!m.keyIdx.has(n.publicKey)) putKey(m, n.publicKey, n.id);
  else m.keyOf.set(n.id, n.publicKey);
}

function putNet(m: RegistryModel, j: NetworkJson): void {
  const old = m.nets.get(j.id);
  if (old) {
    for (const member of old.members) m.groupsOf.get(member)?.delete(j.id);
    m.netByName.delete(old.name);
  }
  const created = j.created ? Date.parse(j.created) : 0;
  const net: NetworkEntry = {
    id: j.id,
    name: j.name,
    joinRule: j.join_rule,
    token: j.token || undefined,
    members: new Set(j.members),
    created: Number.isFinite(created) ? created : 0,
  };
  m.nets.set(net.id, net);
  m.netByName.set(net.name, net.id);
  for (const member of net.members) m.groupsSet(member).add(net.id);
}

function putTrust(m: RegistryModel, pair: string, on: boolean): void {
  const p = /^(\d+):(\d+)$/.exec(pair);
  if (!p) return;
  const a = Number(p[1]);
  const b = Number(p[2]);
  if (on) m.addTrust(a, b);
  else m.delTrust(a, b);
}

function putInbox(
  m: RegistryModel,
  id: number,
  reqs: readonly z.infer<typeof inboxReqJson>[] | undefined,
  resps: readonly z.infer<typeof inboxRespJson>[] | undefined,
): void {
  if (reqs !== undefined) {
    if (reqs.length === 0) m.inbox.delete(id);
    else m.inbox.set(id, reqs.map((r) => ({ from: r.from_node_id, justification: r.justification, at: Date.parse(r.timestamp) || 0 })));
  }
  if (resps !== undefined) {
    if (resps.length === 0) m.responses.delete(id);
    else m.responses.set(id, resps.map((r) => ({ from: r.from_node_id, accept: r.accept, at: Date.parse(r.timestamp) || 0 })));
  }
}
