import { describe, expect, it } from 'vitest';
import { FakeClock } from '../util/clock';
import { createLogger, type LogRecord } from '../util/log';
import { rfc3339Utc, validateWebhookUrl, webhookTarget, WebhookPoster, type WebhookFetch, type WebhookOptions } from './webhook';

// The queue itself, with a scripted fetch and a fake clock: no network, no sleeps. The daemon wiring
// is tested against a real HTTP server in webhook-daemon.test.ts.

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
  respond(status: number): void;
  fail(e: Error): void;
}

function scriptedFetch(): { fetch: WebhookFetch; calls: Call[] } {
  const calls: Call[] = [];
  const fetch: WebhookFetch = (url, init) =>
    new Promise((resolve, reject) => {
      init.signal.addEventListener('abort', () => reject(init.signal.reason as Error));
      calls.push({ url, method: init.method, headers: init.headers, body: init.body, signal: init.signal, respond: (status) => resolve({ status, body: null }), fail: reject });
    });
  return { fetch, calls };
}

/** A timeout signal driven by the fake clock (what AbortSignal.timeout does with real time). */
function clockTimeout(clock: FakeClock): (ms: number) => AbortSignal {
  return (ms) => {
    const c = new AbortController();
    clock.setTimeout(() => c.abort(new DOMException('The operation timed out.', 'TimeoutError')), ms);
    return c.signal;
  };
}

/** Lets promise callbacks and I/O callbacks of the current turn run. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup(o: Partial<WebhookOptions> = {}) {
  const clock = new FakeClock(0, Date.UTC(2024, 0, 2, 3, 4, 5));
  const { fetch, calls } = scriptedFetch();
  const logs: LogRecord[] = [];
  const poster = new WebhookPoster({
    url: 'http://127.0.0.1:8080/hook?token=s3cret',
    nodeId: () => 42,
    log: createLogger({ level: 'debug', sinks: [(r) => logs.push(r)] }),
    fetch,
    clock,
    timeoutSignal: clockTimeout(clock),
    ...o,
  });
  return { clock, calls, logs, poster };
}

describe('WebhookPoster', () => {
  it('POSTs exactly {event, node_id, timestamp, data?} as application/json', async () => {
    const { calls, poster, clock } = setup();
    expect(poster.emit('conn.established', { src_addr: '0:0000.0000.0007', dst_port: 1001 })).toBe(true);
    await settle();
    expect(calls).toHaveLength(1);
    const c = calls[0]!;
    expect(c.url).toBe('http://127.0.0.1:8080/hook?token=s3cret');
    expect(c.method).toBe('POST');
    expect(c.headers['content-type']).toBe('application/json');
    const body = JSON.parse(c.body) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['event', 'node_id', 'timestamp', 'data']);
    expect(body).toEqual({ event: 'conn.established', node_id: 42, timestamp: '2024-01-02T03:04:05Z', data: { src_addr: '0:0000.0000.0007', dst_port: 1001 } });
    c.respond(204);
    await settle();

    clock.advance(120);
    poster.emit('node.registered');
    await settle();
    const second = JSON.parse(calls[1]!.body) as Record<string, unknown>;
    expect(second).toEqual({ event: 'node.registered', node_id: 42, timestamp: '2024-01-02T03:04:05.12Z' });
    expect('data' in second).toBe(false);
    calls[1]!.respond(200);
    await poster.idle();
    expect(poster.stats()).toMatchObject({ posted: 2, failed: 0, dropped: 0, queued: 0, in_flight: 0 });
  });

  it('sends one at a time, in emit order', async () => {
    const { calls, poster } = setup();
    for (const e of ['a', 'b', 'c']) poster.emit(e);
    await settle();
    expect(calls).toHaveLength(1);
    expect(poster.stats()).toMatchObject({ queued: 2, in_flight: 1 });
    calls[0]!.respond(200);
    await settle();
    expect(calls).toHaveLength(2);
    calls[1]!.respond(200);
    await settle();
    calls[2]!.respond(200);
    await poster.idle();
    expect(calls.map((c) => (JSON.parse(c.body) as { event: string }).event)).toEqual(['a', 'b', 'c']);
  });

  it('drops new events while 1024 wait, counts them, warns once per overflow', async () => {
    const { calls, poster, logs } = setup();
    let accepted = 0;
    for (let i = 0; i < 1030; i++) if (poster.emit('data.datagram', { i })) accepted++;
    await settle();
    // one in flight (it left the queue) + 1024 queued; the last 5 dropped
    expect(accepted).toBe(1025);
    expect(poster.stats()).toMatchObject({ queued: 1024, in_flight: 1, dropped: 5 });
    expect(logs.filter((l) => l.msg === 'webhook queue full, dropping events')).toHaveLength(1);
    expect(logs.filter((l) => l.msg === 'webhook event dropped')).toHaveLength(4);

    // Drain: everything accepted goes out in order, the dropped ones never.
    for (let n = 0; n < 1025; n++) {
      calls[n]!.respond(200);
      await settle();
    }
    await poster.idle();
    expect(calls).toHaveLength(1025);
    expect(calls.map((c) => (JSON.parse(c.body) as { data: { i: number } }).data.i)).toEqual([...Array(1025).keys()]);
    expect(poster.stats()).toMatchObject({ posted: 1025, dropped: 5, queued: 0 });
    // Room again: a new event is accepted, and a new overflow would warn again.
    expect(poster.emit('data.datagram', { i: 'late' })).toBe(true);
  });

  it('gives up on a POST after 5 s, counts it failed, and goes on with the next', async () => {
    const { calls, poster, clock, logs } = setup();
    poster.emit('first');
    poster.emit('second');
    await settle();
    clock.advance(4999);
    await settle();
    expect(calls[0]!.signal.aborted).toBe(false);
    expect(poster.stats()).toMatchObject({ failed: 0, in_flight: 1 });
    clock.advance(1);
    await settle();
    expect(calls[0]!.signal.aborted).toBe(true);
    expect(poster.stats()).toMatchObject({ failed: 1, posted: 0 });
    const warn = logs.find((l) => l.msg === 'webhook POST failed');
    expect(warn).toMatchObject({ level: 'warn', component: 'webhook', event: 'first', timeout: true, target: 'http://127.0.0.1:8080' });
    // The secret in the query string is never logged.
    expect(JSON.stringify(logs)).not.toContain('s3cret');
    expect(calls).toHaveLength(2);
    calls[1]!.respond(200);
    await poster.idle();
    expect(poster.stats()).toMatchObject({ failed: 1, posted: 1 });
  });

  it('counts HTTP >= 400 and network errors as failed; warns on the first of a run, then debug', async () => {
    const { calls, poster, logs } = setup();
    for (const e of ['a', 'b', 'c', 'd']) poster.emit(e);
    await settle();
    calls[0]!.respond(500);
    await settle();
    calls[1]!.fail(new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }));
    await settle();
    calls[2]!.respond(302);
    await settle();
    calls[3]!.respond(404);
    await poster.idle();
    expect(poster.stats()).toMatchObject({ posted: 1, failed: 3 });
    const failures = logs.filter((l) => l.msg === 'webhook POST failed');
    expect(failures.map((l) => [l.level, l.event, l['status'] ?? l['error']])).toEqual([
      ['warn', 'a', 500],
      ['debug', 'b', 'fetch failed: ECONNREFUSED'],
      ['warn', 'd', 404],
    ]);
    expect(logs.some((l) => l.msg === 'webhook delivering again')).toBe(true);
  });

  it('"" disables; a new URL applies to later events, queued ones keep theirs', async () => {
    const { calls, poster } = setup({ url: '' });
    expect(poster.emit('ignored')).toBe(false);
    await settle();
    expect(calls).toHaveLength(0);

    poster.setUrl('http://a.example/hook');
    poster.emit('one');
    poster.emit('two');
    poster.setUrl('https://b.example/other');
    poster.emit('three');
    poster.setUrl('');
    expect(poster.emit('four')).toBe(false);
    for (let i = 0; i < 3; i++) {
      await settle();
      calls[i]!.respond(200);
    }
    await poster.idle();
    expect(calls.map((c) => [c.url, (JSON.parse(c.body) as { event: string }).event])).toEqual([
      ['http://a.example/hook', 'one'],
      ['http://a.example/hook', 'two'],
      ['https://b.example/other', 'three'],
    ]);
    expect(poster.stats()).toMatchObject({ enabled: false, target: '', posted: 3 });
  });

  it('refuses a URL that is not http(s), keeping the old one', () => {
    const { poster } = setup();
    expect(() => poster.setUrl('ftp://example.com/x')).toThrow(/must start with http:\/\/ or https:\/\//);
    expect(poster.url).toBe('http://127.0.0.1:8080/hook?token=s3cret');
    expect(() => new WebhookPoster({ url: 'example.com/hook', nodeId: () => 1, log: createLogger({ sinks: [] }) })).toThrow(/invalid webhook URL/);
  });

  it('close: stops accepting, drains until the deadline, then aborts what is left', async () => {
    const { calls, poster, clock } = setup();
    poster.emit('a');
    poster.emit('b');
    await settle();
    const closing = poster.close(1000);
    expect(poster.emit('after-close')).toBe(false);
    calls[0]!.respond(200); // 'a' goes out, 'b' starts
    await settle();
    expect(calls).toHaveLength(2);
    clock.advance(1000); // 'b' never answers: abandoned at the deadline
    await closing;
    await settle();
    expect(calls[1]!.signal.aborted).toBe(true);
    expect(poster.stats()).toMatchObject({ posted: 1, failed: 1, queued: 0, enabled: false });
  });
});

describe('webhook helpers', () => {
  it('validateWebhookUrl accepts "" and http(s) URLs only', () => {
    for (const ok of ['', 'http://127.0.0.1:9/hook', 'https://hooks.example.com/p?x=1', 'HTTPS://EXAMPLE.COM']) expect(validateWebhookUrl(ok)).toBe(ok);
    for (const bad of ['ftp://example.com', 'example.com/hook', 'http://', 'https:/x', 'javascript:alert(1)', ' http://x']) {
      expect(() => validateWebhookUrl(bad), bad).toThrow(expect.objectContaining({ code: 'invalid_argument', message: expect.stringContaining('must start with http:// or https://') }));
    }
  });

  it('webhookTarget shows the origin only', () => {
    expect(webhookTarget('https://user:pw@hooks.example.com:8443/t/abc?token=x')).toBe('https://hooks.example.com:8443');
    expect(webhookTarget('')).toBe('');
  });

  it('rfc3339Utc trims the fraction like Go RFC3339Nano', () => {
    expect(rfc3339Utc(Date.UTC(2024, 0, 2, 3, 4, 5, 0))).toBe('2024-01-02T03:04:05Z');
    expect(rfc3339Utc(Date.UTC(2024, 0, 2, 3, 4, 5, 100))).toBe('2024-01-02T03:04:05.1Z');
    expect(rfc3339Utc(Date.UTC(2024, 0, 2, 3, 4, 5, 7))).toBe('2024-01-02T03:04:05.007Z');
  });
});
