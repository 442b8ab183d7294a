/**
 * The registry directory's keyspace in etcd: a pure codec between the registry's put-form store
 * records (registry-persist.ts) and etcd keys, plus the write plan a batch of records becomes.
 * No I/O: directory.ts is the driver.
 *
 * Keys under a prefix P (default `/pilot/backbone/`), one per record identity:
 *   P counters              {"next_node":N,"next_net":M}
 *   P node/<id>             the node record (NodeJson)
 *   P key/<pubkey>          "<id>"        (URI-encoded base64 key)
 *   P owner/<owner>         "<id>"
 *   P trust/<a>:<b>         "1"           (absent = no trust)
 *   P inbox/<id>            {"requests":[...],"responses":[...]}
 *   P net/<id>              the network record (NetworkJson)
 *   P name/<hostname>       "<id>"        derived from node records: the hostname claim
 *   P online/<id>           "<instance>"  under the writing instance's lease (liveness, not a record)
 *   P events                {"from":"<instance>","events":[...]} rewritten by every transaction that
 *                           produced pushed events; each instance pushes what other instances wrote
 *                           to its own subscribers (the watch delivers every revision of the key)
 *
 * `name/` keys exist so that two instances claiming one hostname for two different nodes write
 * the same key: the transaction's compare on its mod revision lets exactly one of them commit.
 */
import type { MirrorRecord, NodeJson, StoreRecord } from '../registry-persist';

export const DEFAULT_PREFIX = '/pilot/backbone/';


/** What the mirror knows of one key: its value (undefined: absent) and mod revision (0: absent). */
export interface CachedKv {
  value: string | undefined;
  mod: number;
}

export type KeyKind = 'counters' | 'events' | 'node' | 'key' | 'owner' | 'trust' | 'inbox' | 'net' | 'name' | 'online';

const enc = encodeURIComponent;

export class Keyspace {
  constructor(readonly prefix: string = DEFAULT_PREFIX) {
    if (!prefix.endsWith('/')) this.prefix = `${prefix}/`;
  }

  counters(): string {
    return `${this.prefix}counters`;
  }
  events(): string {
    return `${this.prefix}events`;
  }
  node(id: number): string {
    return `${this.prefix}node/${id}`;
  }
  key(pub: string): string {
    return `${this.prefix}key/${enc(pub)}`;
  }
  owner(o: string): string {
    return `${this.prefix}owner/${enc(o)}`;
  }
  trust(pair: string): string {
    return `${this.prefix}trust/${pair}`;
  }
  inbox(id: number): string {
    return `${this.prefix}inbox/${id}`;
  }
  net(id: number): string {
    return `${this.prefix}net/${id}`;
  }
  name(h: string): string {
    return `${this.prefix}name/${enc(h)}`;
  }
  online(id: number): string {
    return `${this.prefix}online/${id}`;
  }

  /** The kind and the (decoded) identity of a key, or undefined for a key outside this keyspace. */
  parse(k: string): { kind: KeyKind; id: string } | undefined {
    if (!k.startsWith(this.prefix)) return undefined;
    const rest = k.slice(this.prefix.length);
    if (rest === 'counters') return { kind: 'counters', id: '' };
    if (rest === 'events') return { kind: 'events', id: '' };
    const slash = rest.indexOf('/');
    if (slash < 0) return undefined;
    const kind = rest.slice(0, slash);
    let id: string;
    try {
      id = decodeURIComponent(rest.slice(slash + 1));
    } catch {
      return undefined;
    }
    switch (kind) {
      case 'node':
      case 'inbox':
      case 'net':
      case 'online':
        return /^\d+$/.test(id) ? { kind, id } : undefined;
      case 'key':
      case 'owner':
      case 'name':
      case 'trust':
        return { kind, id };
      default:
        return undefined;
    }
  }

  /**
   * The mirror record that makes the registry model agree with one key's value (undefined value:
   * the key is absent). `name/`, `online/` and `events` keys are not model records: undefined.
   */
  toRecord(k: string, value: string | undefined): MirrorRecord | undefined {
    const p = this.parse(k);
    if (!p) return undefined;
    try {
      switch (p.kind) {
        case 'counters': {
          if (value === undefined) return { r: 'counters', next_node: 1, next_net: 1 };
          const c = JSON.parse(value) as { next_node: number; next_net: number };
          return { r: 'counters', next_node: c.next_node, next_net: c.next_net };
        }
        case 'node':
          return value === undefined ? { r: 'node_del', id: Number(p.id) } : { r: 'node', node: JSON.parse(value) as NodeJson };
        case 'key':
          return value === undefined ? { r: 'key_del', key: p.id } : { r: 'key', key: p.id, id: Number(value) };
        case 'owner':
          return value === undefined ? { r: 'owner_del', owner: p.id } : { r: 'owner', owner: p.id, id: Number(value) };
        case 'trust':
          return { r: 'trust', pair: p.id, on: value !== undefined };
        case 'inbox': {
          if (value === undefined) return { r: 'inbox', id: Number(p.id), requests: [], responses: [] };
          const v = JSON.parse(value) as { requests: []; responses: [] };
          return { r: 'inbox', id: Number(p.id), requests: v.requests, responses: v.responses };
        }
        case 'net':
          return value === undefined ? { r: 'net_del', id: Number(p.id) } : ({ r: 'net', net: JSON.parse(value) } as MirrorRecord);
        default:
          return undefined;
      }
    } catch {
      return undefined; // a value that does not parse (not written by a backbone): ignored
    }
  }

  /**
   * Turns the put-form records one batch produced into etcd writes: key → value (null: delete).
   * Writes that would not change the key are left out, and so is a node record whose only change
   * is `last_seen` (liveness goes to `online/` keys, not to one write per heartbeat). `name/`
   * claims and releases are derived from the node records against the node's previous value.
   */
  plan(records: readonly StoreRecord[], cached: (k: string) => CachedKv | undefined): Map<string, string | null> {
    const ops = new Map<string, string | null>();
    const set = (k: string, v: string | null): void => {
      const c = cached(k)?.value;
      if (v === null ? c === undefined : c === v) {
        ops.delete(k);
        return;
      }
      ops.set(k, v);
    };
    const oldHostname = (id: number): string | undefined => {
      const v = cached(this.node(id))?.value;
      if (v === undefined) return undefined;
      try {
        return (JSON.parse(v) as NodeJson).hostname || undefined;
      } catch {
        return undefined;
      }
    };
    const release = (id: number, h: string | undefined): void => {
      if (h !== undefined && cached(this.name(h))?.value === String(id)) set(this.name(h), null);
    };
    for (const r of records) {
      switch (r.r) {
        case 'counters':
          set(this.counters(), JSON.stringify({ next_node: r.next_node, next_net: r.next_net }));
          break;
        case 'node': {
          const id = r.node.id;
          const prev = cached(this.node(id))?.value;
          const text = JSON.stringify(r.node);
          if (prev === undefined || !sameButLastSeen(prev, r.node)) set(this.node(id), text);
          const before = oldHostname(id);
          const now = r.node.hostname || undefined;
          if (before !== now) release(id, before);
          if (now !== undefined) set(this.name(now), String(id));
          break;
        }
        case 'node_del':
          release(r.id, oldHostname(r.id));
          set(this.node(r.id), null);
          break;
        case 'key':
          set(this.key(r.key), String(r.id));
          break;
        case 'key_del':
          set(this.key(r.key), null);
          break;
        case 'owner':
          set(this.owner(r.owner), String(r.id));
          break;
        case 'trust':
          set(this.trust(r.pair), r.on ? '1' : null);
          break;
        case 'inbox':
          set(this.inbox(r.id), r.requests.length === 0 && r.responses.length === 0 ? null : JSON.stringify({ requests: r.requests, responses: r.responses }));
          break;
        case 'net':
          set(this.net(r.net.id), JSON.stringify(r.net));
          break;
      }
    }
    return ops;
  }
}

/** Is the stored node text the same node as `n` apart from last_seen? */
export function sameButLastSeen(prevText: string, n: NodeJson): boolean {
  let prev: NodeJson;
  try {
    prev = JSON.parse(prevText) as NodeJson;
  } catch {
    return false;
  }
  const a = { ...prev, last_seen: '' };
  const b = { ...n, last_seen: '' };
  return JSON.stringify(a) === JSON.stringify(b);
}
