import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { PORTS } from '../../../shared/address';
import { EventDecoder, encodeEvent } from '../../wire/service';
import { fromUtf8, utf8 } from '../../util/bytes';
import { TopicBroker, isPrefixPattern, publish, subscribe, topicMatches } from './event-stream';
import { TestNet, waitFor, type Peer } from './testkit';

describe('topic patterns (pure)', () => {
  it.each([
    ['*', 'anything', true],
    ['*', '*', true],
    ['a.b', 'a.b', true],
    ['a.b', 'a.c', false],
    ['tasks.*', 'tasks.new', true],
    ['tasks.*', 'tasks.a.b', true],
    ['tasks.*', 'tasks', false],
    ['tasks.*', 'tasks.', false],
    ['tasks.*', 'tasksx.new', false],
    ['logs/*', 'logs/app', true],
    ['logs/*', 'logs.app', false],
    ['tasks.*', '*', false],
    ['.*', 'x', false],
  ])('%j matches %j: %s', (pattern, topic, want) => {
    expect(topicMatches(pattern, topic)).toBe(want);
  });

  it('recognises prefix patterns', () => {
    expect(isPrefixPattern('a.*')).toBe(true);
    expect(isPrefixPattern('a/*')).toBe(true);
    expect(isPrefixPattern('*')).toBe(false);
    expect(isPrefixPattern('a*')).toBe(false);
  });

  it('indexes subscribers: each reached once, publisher excluded, "*" publish reaches only "*"', () => {
    const b = new TopicBroker<string>();
    b.subscribe('all', '*');
    b.subscribe('exact', 'tasks.new');
    b.subscribe('prefix', 'tasks.*');
    b.subscribe('deep', 'tasks.new.*');
    b.subscribe('other', 'other');
    b.subscribe('pub', 'tasks.new');
    expect(b.targets('tasks.new', 'pub').sort()).toEqual(['all', 'exact', 'prefix']);
    expect(b.targets('tasks.new.x').sort()).toEqual(['all', 'deep', 'prefix']);
    expect(b.targets('*').sort()).toEqual(['all']);
    expect(b.targets('nothing')).toEqual(['all']);
    b.subscribe('exact', 'other'); // re-subscribe moves it
    expect(b.targets('other').sort()).toEqual(['all', 'exact', 'other']);
    expect(b.unsubscribe('all')).toBe(true);
    expect(b.unsubscribe('all')).toBe(false);
    expect(b.size).toBe(5);
    expect(b.topics()).toContainEqual({ pattern: 'other', subscribers: 2 });
  });
});

describe('event stream broker (port 1002) over real nodes', () => {
  let net: TestNet;
  let broker: Peer;
  let c1: Peer;
  let c2: Peer;
  beforeAll(async () => {
    net = await TestNet.start();
    broker = await net.peer({ public: true });
    c1 = await net.peer({ public: true });
    c2 = await net.peer({ public: true });
  });
  afterAll(async () => {
    await net?.close();
  });

  type Got = { topic: string; text: string }[];
  const collect = async (p: Peer, pattern: string): Promise<{ got: Got; close(): void; next(): Promise<void> }> => {
    const got: Got = [];
    let wake: (() => void) | undefined;
    const registered = waitFor(broker.svc.events!, 'subscribed', (i: { topic: string }) => i.topic === pattern);
    const sub = await subscribe(p.node, broker.node.nodeId, pattern, (topic, payload) => {
      got.push({ topic, text: fromUtf8(payload) });
      wake?.();
    });
    await registered;
    return {
      got,
      close: () => sub.close(),
      next: () => new Promise<void>((r) => (wake = r)),
    };
  };

  it('delivers to exact, "*" and prefix subscribers, not to others, never back to the publisher', async () => {
    const all = await collect(c1, '*');
    const exact = await collect(c2, 'tasks.new');
    const prefix = await collect(c1, 'tasks.*');
    const other = await collect(c2, 'other');
    const local: string[] = [];
    const unsub = broker.svc.events!.subscribeLocal('tasks.*', (t, p) => local.push(`${t}:${fromUtf8(p)}`));

    // A raw connection subscribed to tasks.new publishes on it: it must not get its own event.
    const raw = await c2.node.dial(broker.node.address, PORTS.eventStream);
    const rawDec = new EventDecoder();
    const rawGot: string[] = [];
    let rawWake: (() => void) | undefined;
    raw.on('data', (c) => {
      for (const e of rawDec.push(Uint8Array.from(c))) rawGot.push(fromUtf8(e.payload));
      rawWake?.();
    });
    const rawSubscribed = waitFor(broker.svc.events!, 'subscribed', (i: { topic: string }) => i.topic === 'tasks.new');
    raw.write(encodeEvent('tasks.new', new Uint8Array(0)));
    await rawSubscribed;

    const published = waitFor(broker.svc.events!, 'published', (i: { topic: string }) => i.topic === 'tasks.new');
    raw.write(encodeEvent('tasks.new', utf8('own')));
    const [info] = await published;
    expect(info).toMatchObject({ topic: 'tasks.new', bytes: 3, delivered: 4 }); // all, exact, prefix, local

    // A second publisher's event is the first thing the raw connection receives.
    const rawNext = new Promise<void>((r) => (rawWake = r));
    await publish(c1.node, broker.node.nodeId, 'tasks.new', utf8('second'));
    await rawNext;
    expect(rawGot).toEqual(['second']);

    while (exact.got.length < 2) await exact.next();
    expect(exact.got).toEqual([
      { topic: 'tasks.new', text: 'own' },
      { topic: 'tasks.new', text: 'second' },
    ]);
    while (prefix.got.length < 2) await prefix.next();
    while (all.got.length < 2) await all.next();
    expect(local).toEqual(['tasks.new:own', 'tasks.new:second']);

    // "*" as a topic reaches only "*" subscribers; a marker on "other" proves nothing else came first.
    await publish(c1.node, broker.node.nodeId, '*', utf8('star'));
    await publish(c1.node, broker.node.nodeId, 'other', utf8('marker'));
    while (other.got.length < 1) await other.next();
    expect(other.got).toEqual([{ topic: 'other', text: 'marker' }]);
    while (all.got.length < 4) await all.next();
    expect(all.got.map((g) => g.text)).toEqual(['own', 'second', 'star', 'marker']);
    expect(prefix.got.map((g) => g.text)).toEqual(['own', 'second']);

    // Local publish reaches remote subscribers.
    expect(broker.svc.events!.publishLocal('tasks.done', utf8('local'))).toBe(3); // all, prefix, local
    while (prefix.got.length < 3) await prefix.next();
    expect(prefix.got[2]).toEqual({ topic: 'tasks.done', text: 'local' });

    unsub();
    const gone = waitFor(broker.svc.events!, 'unsubscribed', (i: { topic: string }) => i.topic === 'other');
    raw.end();
    for (const s of [all, exact, prefix, other]) s.close();
    await gone;
    expect(broker.svc.events!.broker.topics().find((t) => t.pattern === 'other')).toBeUndefined();
  });
});
