/** The etcd keyspace codec: keys round-trip, records become the right writes, claims are derived. */
import { describe, expect, it } from 'vitest';
import type { NodeJson } from '../registry-persist';
import { Keyspace, sameButLastSeen, type CachedKv } from './keyspace';

const ks = new Keyspace('/p/');
const node = (id: number, extra: Partial<NodeJson> = {}): NodeJson => ({ id, public_key: `k${id}`, networks: [0], last_seen: '2026-01-01T00:00:00Z', ...extra });
const cacheOf = (m: Record<string, string>): ((k: string) => CachedKv | undefined) => (k) => (k in m ? { value: m[k], mod: 5 } : undefined);

describe('etcd keyspace', () => {
  it('adds the trailing slash to a prefix and parses its own keys back', () => {
    expect(new Keyspace('/x').prefix).toBe('/x/');
    const pub = 'ab+/cd==';
    expect(ks.key(pub)).toBe('/p/key/ab%2B%2Fcd%3D%3D');
    expect(ks.parse(ks.key(pub))).toEqual({ kind: 'key', id: pub });
    expect(ks.parse(ks.name('h/x'))).toEqual({ kind: 'name', id: 'h/x' });
    expect(ks.parse(ks.node(7))).toEqual({ kind: 'node', id: '7' });
    expect(ks.parse(ks.counters())).toEqual({ kind: 'counters', id: '' });
    expect(ks.parse(ks.events())).toEqual({ kind: 'events', id: '' });
    expect(ks.toRecord(ks.events(), '{}')).toBeUndefined();
    expect(ks.parse('/p/node/abc')).toBeUndefined();
    expect(ks.parse('/q/node/1')).toBeUndefined();
    expect(ks.parse('/p/what/1')).toBeUndefined();
    expect(ks.parse('/p/key/%E0%A4%A')).toBeUndefined(); // bad URI escape
  });

  it('turns values back into mirror records, absent keys into deletions', () => {
    expect(ks.toRecord(ks.node(3), JSON.stringify(node(3)))).toEqual({ r: 'node', node: node(3) });
    expect(ks.toRecord(ks.node(3), undefined)).toEqual({ r: 'node_del', id: 3 });
    expect(ks.toRecord(ks.key('K'), '3')).toEqual({ r: 'key', key: 'K', id: 3 });
    expect(ks.toRecord(ks.key('K'), undefined)).toEqual({ r: 'key_del', key: 'K' });
    expect(ks.toRecord(ks.owner('o'), undefined)).toEqual({ r: 'owner_del', owner: 'o' });
    expect(ks.toRecord(ks.trust('1:2'), '1')).toEqual({ r: 'trust', pair: '1:2', on: true });
    expect(ks.toRecord(ks.trust('1:2'), undefined)).toEqual({ r: 'trust', pair: '1:2', on: false });
    expect(ks.toRecord(ks.counters(), undefined)).toEqual({ r: 'counters', next_node: 1, next_net: 1 });
    expect(ks.toRecord(ks.inbox(4), undefined)).toEqual({ r: 'inbox', id: 4, requests: [], responses: [] });
    expect(ks.toRecord(ks.net(2), undefined)).toEqual({ r: 'net_del', id: 2 });
    expect(ks.toRecord(ks.name('h'), '3')).toBeUndefined();
    expect(ks.toRecord(ks.online(3), 'inst')).toBeUndefined();
    expect(ks.toRecord(ks.node(3), '{not json')).toBeUndefined();
  });

  it('plans a registration with a hostname: node, key, counters and the name claim', () => {
    const ops = ks.plan(
      [
        { r: 'counters', next_node: 2, next_net: 1 },
        { r: 'key', key: 'k1', id: 1 },
        { r: 'node', node: node(1, { hostname: 'alpha' }) },
      ],
      cacheOf({}),
    );
    expect([...ops.keys()].sort()).toEqual(['/p/counters', '/p/key/k1', '/p/name/alpha', '/p/node/1']);
    expect(ops.get('/p/name/alpha')).toBe('1');
  });

  it('moves a claim on rename, releases it on delete, and leaves another node\'s claim alone', () => {
    const before = JSON.stringify(node(1, { hostname: 'old' }));
    const renamed = ks.plan([{ r: 'node', node: node(1, { hostname: 'new' }) }], cacheOf({ '/p/node/1': before, '/p/name/old': '1' }));
    expect(renamed.get('/p/name/old')).toBeNull();
    expect(renamed.get('/p/name/new')).toBe('1');
    const gone = ks.plan([{ r: 'node_del', id: 1 }], cacheOf({ '/p/node/1': before, '/p/name/old': '1' }));
    expect(gone.get('/p/node/1')).toBeNull();
    expect(gone.get('/p/name/old')).toBeNull();
    const notMine = ks.plan([{ r: 'node_del', id: 1 }], cacheOf({ '/p/node/1': before, '/p/name/old': '9' }));
    expect(notMine.has('/p/name/old')).toBe(false);
  });

  it('writes nothing for a change of last_seen alone, or for a value etcd already holds', () => {
    const stored = JSON.stringify(node(1));
    const seenLater = node(1, { last_seen: '2026-06-01T00:00:00Z' });
    expect(sameButLastSeen(stored, seenLater)).toBe(true);
    expect(sameButLastSeen(stored, node(1, { real_addr: '1.2.3.4:5' }))).toBe(false);
    expect(ks.plan([{ r: 'node', node: seenLater }], cacheOf({ '/p/node/1': stored })).size).toBe(0);
    expect(ks.plan([{ r: 'key', key: 'k', id: 1 }], cacheOf({ '/p/key/k': '1' })).size).toBe(0);
    expect(ks.plan([{ r: 'key_del', key: 'k' }], cacheOf({})).size).toBe(0);
    expect(ks.plan([{ r: 'trust', pair: '1:2', on: false }], cacheOf({ '/p/trust/1:2': '1' })).get('/p/trust/1:2')).toBeNull();
    expect(ks.plan([{ r: 'inbox', id: 1, requests: [], responses: [] }], cacheOf({ '/p/inbox/1': '{}' })).get('/p/inbox/1')).toBeNull();
  });
});
