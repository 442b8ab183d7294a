import { describe, expect, it } from 'vitest';
import { isPilotError } from '../../shared/errors';
import { BeaconSet, FailoverPolicy, backboneShorthand, parseAddressList, reconnectWait } from './backbone-failover';

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return isPilotError(e) ? e.code : 'not a PilotError';
  }
  return undefined;
};

describe('parseAddressList', () => {
  it('one address, several comma-separated, arrays, IPv6 in brackets; order kept, duplicates dropped', () => {
    expect(parseAddressList('127.0.0.1:9000', 'registry')).toEqual([{ host: '127.0.0.1', port: 9000 }]);
    expect(parseAddressList(' a.example:9000 , b.example:9100 ', 'registry')).toEqual([
      { host: 'a.example', port: 9000 },
      { host: 'b.example', port: 9100 },
    ]);
    expect(parseAddressList(['b:1', 'a:2,b:1', '[::1]:3'], 'beacon')).toEqual([
      { host: 'b', port: 1 },
      { host: 'a', port: 2 },
      { host: '::1', port: 3 },
    ]);
    expect(parseAddressList(':9000', 'registry')).toEqual([{ host: '127.0.0.1', port: 9000 }]);
  });

  it('refuses empty lists, missing ports, ports out of range, with invalid_argument', () => {
    expect(codeOf(() => parseAddressList('', 'registry'))).toBe('invalid_argument');
    expect(codeOf(() => parseAddressList(' , ', 'registry'))).toBe('invalid_argument');
    expect(codeOf(() => parseAddressList('a:9000,b', 'registry'))).toBe('invalid_argument');
    expect(codeOf(() => parseAddressList('a:70000', 'beacon'))).toBe('invalid_argument');
    expect(() => parseAddressList('a:9000,nohost', 'registry')).toThrow(/invalid registry address "nohost"/);
  });
});

describe('backboneShorthand', () => {
  it('maps hosts to registry :9000 and beacon :9001, brackets IPv6', () => {
    expect(backboneShorthand('bb.example')).toEqual({ registry: 'bb.example:9000', beacon: 'bb.example:9001' });
    expect(backboneShorthand('a.example, b.example')).toEqual({ registry: 'a.example:9000,b.example:9000', beacon: 'a.example:9001,b.example:9001' });
    expect(backboneShorthand('::1')).toEqual({ registry: '[::1]:9000', beacon: '[::1]:9001' });
  });
  it('refuses host:port and empty input', () => {
    expect(codeOf(() => backboneShorthand('bb.example:9000'))).toBe('invalid_argument');
    expect(codeOf(() => backboneShorthand(','))).toBe('invalid_argument');
  });
});

describe('reconnectWait', () => {
  it('one address: 0.5 s, 1 s, 2 s, ... capped at 10 s (the single-registry backoff)', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => reconnectWait(i, 1, 500))).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
  });
  it('several addresses: no wait inside a round, backoff after each full round', () => {
    expect([0, 1, 2, 3, 4, 5].map((i) => reconnectWait(i, 2, 500))).toEqual([0, 500, 0, 1000, 0, 2000]);
    expect([0, 1, 2].map((i) => reconnectWait(i, 3, 100))).toEqual([0, 0, 100]);
  });
});

describe('FailoverPolicy', () => {
  it('moves to the next address on failure, wraps around, counts a connect elsewhere as a failover', () => {
    const p = new FailoverPolicy(3);
    expect(p.index).toBe(0);
    expect(p.connected(0)).toBe(false); // the first connect is no failover
    p.failed(0);
    expect(p.index).toBe(1);
    p.failed(1);
    expect(p.index).toBe(2);
    expect(p.connected(2)).toBe(true);
    expect(p.failovers).toBe(1);
    expect(p.connectedIndex).toBe(2);
    p.failed(2);
    expect(p.index).toBe(0); // wraps: back to the preferred one
    expect(p.connected(0)).toBe(true);
    expect(p.failovers).toBe(2);
  });

  it('two connections failing on the same address move once', () => {
    const p = new FailoverPolicy(3);
    p.connected(0);
    p.failed(0); // the request connection
    p.failed(0); // the event subscription, same instance: already moved
    expect(p.index).toBe(1);
  });

  it('reconnecting to the same address is no failover; one address never moves', () => {
    const p = new FailoverPolicy(1);
    p.connected(0);
    p.failed(0);
    expect(p.index).toBe(0);
    expect(p.connected(0)).toBe(false);
    expect(p.failovers).toBe(0);
  });

  it('refuses an empty list', () => {
    expect(codeOf(() => new FailoverPolicy(0))).toBe('invalid_argument');
  });
});

describe('BeaconSet', () => {
  const a = { host: '127.0.0.1', port: 9001 };
  const b = { host: '127.0.0.2', port: 9001 };

  it('keeps the preferred beacon while it answers; moves when its discover stays unanswered; moves back when it answers again', () => {
    const s = new BeaconSet([a, b], { deadAfterMs: 3000 });
    expect(s.active).toEqual(a);
    s.sent(0, 0);
    s.sent(1, 0);
    s.answered(0, 10);
    s.answered(1, 12);
    expect(s.update(5000)).toBeUndefined();

    s.sent(0, 5000);
    s.sent(1, 5000);
    s.answered(1, 5003);
    expect(s.update(7000)).toBeUndefined(); // 2 s unanswered: not yet down
    s.sent(0, 10_000); // still the first unanswered one counts
    expect(s.down(0, 8001)).toBe(true);
    expect(s.update(8001)).toBe(0);
    expect(s.active).toEqual(b);
    expect(s.switches).toBe(1);

    s.answered(0, 12_000);
    expect(s.update(12_000)).toBe(1);
    expect(s.active).toEqual(a);
    expect(s.switches).toBe(2);
  });

  it('a beacon that did not answer the start-up discover is down at once, until it answers', () => {
    const s = new BeaconSet([a, b], { deadAfterMs: 3000 });
    s.unanswered(0);
    s.answered(1, 100);
    expect(s.update(100, false)).toBe(0);
    expect(s.active).toEqual(b);
    expect(s.switches).toBe(0); // the start-up choice is no failover
    s.answered(0, 200);
    expect(s.update(200)).toBe(1);
    expect(s.active).toEqual(a);
    expect(s.switches).toBe(1);
  });

  it('when every beacon is down the active one stays', () => {
    const s = new BeaconSet([a, b], { deadAfterMs: 1000 });
    s.sent(0, 0);
    s.sent(1, 0);
    expect(s.update(5000)).toBeUndefined();
    expect(s.active).toEqual(a);
  });

  it('finds a beacon by source, also as an IPv4-mapped IPv6 address', () => {
    const s = new BeaconSet([a, b]);
    expect(s.indexOf({ host: '::ffff:127.0.0.2', port: 9001 })).toBe(1);
    expect(s.indexOf({ host: '127.0.0.2', port: 9002 })).toBe(-1);
  });
});
