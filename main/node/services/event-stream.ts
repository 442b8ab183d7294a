/**
 * Event stream broker, port 1002 (services.md §5). Events are `topic_len u16 ‖ topic ‖ payload_len
 * u32 ‖ payload`. On each connection the FIRST event is the subscription (its topic is the pattern,
 * its payload is ignored); every later event is a publish, delivered to every other subscriber whose
 * pattern matches; the publishing connection never receives its own event.
 *
 * Patterns:
 *  - `*`            every topic (publishing to the topic `*` reaches only `*` subscribers);
 *  - `<topic>`      exactly that topic;
 *  - `<prefix>.*` / `<prefix>/*`   (OUR EXTENSION) every topic starting with `<prefix>.` / `<prefix>/`,
 *                   at any depth (`tasks.*` matches `tasks.new` and `tasks.a.b`, not `tasks`).
 *                   A reference broker treats such a pattern as a literal topic, so subscribers that
 *                   rely on it must talk to one of our nodes; publishers need nothing new.
 *
 * Delivery failures drop the subscriber: a subscriber whose unsent backlog exceeds
 * `maxBacklogBytes` is reset. No persistence, acknowledgements or replay.
 * Trace context: the broker ignores the payload of a connection's first (subscription) event, so a
 * publisher of ours puts its `event.publish` span's W3C traceparent there; our broker records each
 * publish as an `event.route` server span under it, a reference broker ignores it. Delivered events
 * are opaque bytes to subscribers (reference ones included), so no context travels to subscribers.
 *
 * Local (in-process) subscribers and publishers — the daemon's IPC and the console — use the same
 * broker through `subscribeLocal` / `publishLocal`.
 */
import { EventEmitter } from 'node:events';
import { PORTS, formatAddress, type Address } from '../../../shared/address';
import { fromUtf8, utf8 } from '../../util/bytes';
import { ROOT_PARENT, type ParentLike, type Span } from '../../observe/tracer';
import { parseTraceparent, type TraceParent } from '../../observe/traceparent';
import { EventDecoder, encodeEvent, type EventFrame } from '../../wire/service';
import type { Logger } from '../../util/log';
import type { PilotNode } from '../node';
import type { PilotStream } from '../stream';
import { FrameReader, refusedError, targetAddress, whenClosed, writeOrRefused, type Target } from './common';

// ---- pure topic matching -----------------------------------------------------------------------

/** `a.*` or `a/*` (at least one character before the separator). */
export function isPrefixPattern(pattern: string): boolean {
  return pattern.length >= 3 && (pattern.endsWith('.*') || pattern.endsWith('/*'));
}

export function topicMatches(pattern: string, topic: string): boolean {
  if (pattern === '*' || pattern === topic) return true;
  if (topic === '*' || !isPrefixPattern(pattern)) return false;
  const prefix = pattern.slice(0, -1);
  return topic.length > prefix.length && topic.startsWith(prefix);
}

/** Subscription index: exact topics, prefix patterns and `*`. */
export class TopicBroker<S> {
  private readonly exact = new Map<string, Set<S>>();
  private readonly prefixes = new Map<string, Set<S>>();
  private readonly all = new Set<S>();
  private readonly patternOf = new Map<S, string>();

  subscribe(sub: S, pattern: string): void {
    this.unsubscribe(sub);
    this.patternOf.set(sub, pattern);
    if (pattern === '*') this.all.add(sub);
    else if (isPrefixPattern(pattern)) addTo(this.prefixes, pattern.slice(0, -1), sub);
    else addTo(this.exact, pattern, sub);
  }

  unsubscribe(sub: S): boolean {
    const p = this.patternOf.get(sub);
    if (p === undefined) return false;
    this.patternOf.delete(sub);
    if (p === '*') this.all.delete(sub);
    else if (isPrefixPattern(p)) removeFrom(this.prefixes, p.slice(0, -1), sub);
    else removeFrom(this.exact, p, sub);
    return true;
  }

  pattern(sub: S): string | undefined {
    return this.patternOf.get(sub);
  }

  /** Every subscriber a publish of `topic` reaches, each once, never `publisher`. */
  targets(topic: string, publisher?: S): S[] {
    const out = new Set<S>(this.all);
    for (const s of this.exact.get(topic) ?? []) out.add(s);
    if (topic !== '*') {
      for (const [prefix, subs] of this.prefixes) {
        if (topic.length > prefix.length && topic.startsWith(prefix)) for (const s of subs) out.add(s);
      }
    }
    if (publisher !== undefined) out.delete(publisher);
    return [...out];
  }

  get size(): number {
    return this.patternOf.size;
  }

  topics(): { pattern: string; subscribers: number }[] {
    const counts = new Map<string, number>();
    for (const p of this.patternOf.values()) counts.set(p, (counts.get(p) ?? 0) + 1);
    return [...counts].map(([pattern, subscribers]) => ({ pattern, subscribers })).sort((a, b) => a.pattern.localeCompare(b.pattern));
  }
}

function addTo<S>(m: Map<string, Set<S>>, k: string, s: S): void {
  let set = m.get(k);
  if (!set) m.set(k, (set = new Set()));
  set.add(s);
}
function removeFrom<S>(m: Map<string, Set<S>>, k: string, s: S): void {
  const set = m.get(k);
  if (!set) return;
  set.delete(s);
  if (set.size === 0) m.delete(k);
}

// ---- the service --------------------------------------------------------------------------------

interface Subscriber {
  readonly label: string;
  deliver(topic: string, payload: Uint8Array, encoded: () => Uint8Array): void;
}

export interface EventStreamEvents {
  subscribed: [info: { from: string; topic: string }];
  unsubscribed: [info: { from: string; topic: string }];
  published: [info: { from: string; topic: string; bytes: number; delivered: number }];
}

export interface EventStreamOptions {
  /** Unsent bytes a slow subscriber may accumulate before it is dropped (default 8 MiB). */
  maxBacklogBytes?: number;
}

export class EventStreamService extends EventEmitter<EventStreamEvents> {
  readonly broker = new TopicBroker<Subscriber>();
  private stopListening: (() => void) | undefined;
  private readonly maxBacklog: number;
  readonly counters = { connections: 0, published: 0, delivered: 0, dropped: 0 };

  constructor(
    private readonly node: PilotNode,
    private readonly log: Logger,
    opts: EventStreamOptions = {},
  ) {
    super();
    this.maxBacklog = opts.maxBacklogBytes ?? 8 << 20;
  }

  start(): void {
    this.stopListening = this.node.listen(PORTS.eventStream, (s) => this.onStream(s));
  }

  stop(): void {
    this.stopListening?.();
    this.stopListening = undefined;
  }

  /** Subscribes in-process; returns the unsubscribe function. */
  subscribeLocal(pattern: string, onEvent: (topic: string, payload: Uint8Array) => void): () => void {
    const sub: Subscriber = { label: 'local', deliver: (t, p) => onEvent(t, p) };
    this.broker.subscribe(sub, pattern);
    return () => {
      this.broker.unsubscribe(sub);
    };
  }

  /** Publishes in-process (as if from no connection); returns the number of subscribers reached. */
  publishLocal(topic: string, payload: Uint8Array): number {
    return this.publish(topic, payload, undefined, 'local');
  }

  private publish(topic: string, payload: Uint8Array, from: Subscriber | undefined, label: string): number {
    let bytes: Uint8Array | undefined;
    const encoded = (): Uint8Array => (bytes ??= encodeEvent(topic, payload));
    const targets = this.broker.targets(topic, from);
    for (const t of targets) {
      try {
        t.deliver(topic, payload, encoded);
      } catch (e) {
        this.log.warn('event delivery failed', { to: t.label, error: String(e) });
      }
    }
    this.counters.published++;
    this.counters.delivered += targets.length;
    this.emit('published', { from: label, topic, bytes: payload.length, delivered: targets.length });
    return targets.length;
  }

  private onStream(s: PilotStream): void {
    this.counters.connections++;
    const from = formatAddress(s.remote);
    const decoder = new EventDecoder();
    let backlog = 0;
    let subscribed: string | undefined;
    let parent: TraceParent | undefined;
    const sub: Subscriber = {
      label: from,
      deliver: (_t, _p, encoded) => {
        if (s.closed) return;
        const b = encoded();
        if (s.write(b)) return;
        backlog += b.length;
        if (backlog > this.maxBacklog) {
          this.counters.dropped++;
          this.log.warn('slow subscriber dropped', { peer: s.remote.node, topic: subscribed, backlog });
          s.abort();
        }
      },
    };
    s.stopBuffering();
    s.on('drain', () => {
      backlog = 0;
    });
    s.on('data', (chunk) => {
      let events: EventFrame[];
      try {
        events = decoder.push(Uint8Array.from(chunk));
      } catch (e) {
        this.log.warn('bad event frame, closing', { peer: s.remote.node, error: String(e) });
        s.abort();
        return;
      }
      for (const ev of events) {
        if (subscribed === undefined) {
          subscribed = ev.topic;
          if (ev.payload.length >= 55 && ev.payload.length <= 512) parent = parseTraceparent(fromUtf8(ev.payload));
          this.broker.subscribe(sub, ev.topic);
          this.log.debug('subscribed', { peer: s.remote.node, topic: ev.topic });
          this.emit('subscribed', { from, topic: ev.topic });
        } else {
          const span = this.node.tracer.start('event.route', parent ?? ROOT_PARENT, { 'peer.node_id': s.remote.node, 'event.topic': ev.topic.slice(0, 128), 'event.bytes': ev.payload.length }, 'server');
          span.set('event.delivered', this.publish(ev.topic, ev.payload, sub, from));
          span.end();
        }
      }
    });
    s.on('close', () => {
      if (this.broker.unsubscribe(sub) && subscribed !== undefined) this.emit('unsubscribed', { from, topic: subscribed });
    });
  }
}

// ---- clients ----------------------------------------------------------------------------------

export interface Subscription {
  /** The pattern sent to the broker. */
  readonly topic: string;
  /** Resolves with the close reason when the stream ends. */
  readonly done: Promise<string>;
  close(): void;
}

/**
 * Subscribes to `topic` (a pattern) on `target`'s broker; `onEvent` gets every delivered event.
 * Resolves once the subscription event is written (the broker registers it when it arrives).
 */
export async function subscribe(
  node: PilotNode,
  target: Target,
  topic: string,
  onEvent: (topic: string, payload: Uint8Array) => void,
  timeoutMs = 30_000,
): Promise<Subscription> {
  const s = await node.dial(targetAddress(target), PORTS.eventStream, timeoutMs);
  const decoder = new EventDecoder();
  const reader = new FrameReader<EventFrame>(s, (c) => decoder.push(Uint8Array.from(c)));
  const done = new Promise<string>((resolve) => s.once('close', (reason) => resolve(reason)));
  await writeOrRefused(s, encodeEvent(topic, new Uint8Array(0)));
  (async () => {
    for (;;) {
      let ev: EventFrame | undefined;
      try {
        ev = await reader.next(2 ** 31 - 1);
      } catch {
        return;
      }
      if (!ev) return;
      onEvent(ev.topic, ev.payload);
    }
  })().catch(() => s.end()); // a throwing handler ends this subscription, not the process
  return { topic, done, close: () => s.end() };
}

/**
 * Publishes events to `topic` on `target`'s broker: subscribes to the same topic first (the protocol
 * requires it), sends the events, closes gracefully and waits until the broker has everything.
 */
export async function publish(
  node: PilotNode,
  target: Target,
  topic: string,
  payloads: Uint8Array | Uint8Array[],
  timeoutMs = 30_000,
  opts: { parent?: ParentLike } = {},
): Promise<void> {
  const list = Array.isArray(payloads) ? payloads : [payloads];
  const addr = targetAddress(target);
  await node.tracer.trace('event.publish', (span) => publishIn(node, addr, topic, list, timeoutMs, span), opts.parent, { 'peer.node_id': addr.node, 'event.topic': topic.slice(0, 128), 'event.count': list.length }, 'client');
}

async function publishIn(node: PilotNode, addr: Address, topic: string, payloads: Uint8Array[], timeoutMs: number, span: Span): Promise<void> {
  const s = await node.dial(addr, PORTS.eventStream, timeoutMs, { parent: span });
  s.stopBuffering();
  // The subscription event's payload is ignored by every broker: ours reads a traceparent there.
  await writeOrRefused(s, encodeEvent(topic, utf8(span.traceparent() ?? '')));
  for (const p of payloads) await writeOrRefused(s, encodeEvent(topic, p));
  s.end();
  if ((await whenClosed(s, timeoutMs)) === 'rst') throw refusedError(s);
}
