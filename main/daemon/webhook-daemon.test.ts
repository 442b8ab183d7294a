import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseAddress } from '../../shared/address';
import { IpcClient } from './client';
import { envelope, makeHome, pilotctl, startBackboneProc, type BackboneProc, type Home } from './testing/procs';
import type { WebhookStats } from './webhook';

// A real backbone, two real daemons and a real HTTP server on 127.0.0.1 that receives the webhook
// POSTs of daemon A. Events are caused through the real pilotctl from daemon B (or A); every wait is
// on something arriving (a POST, a command's exit), never on a sleep.

interface Post {
  seq: number;
  method: string;
  path: string;
  contentType: string;
  raw: string;
  body: { event: string; node_id: number; timestamp: string; data?: Record<string, unknown> };
}

class HookServer {
  readonly posts: Post[] = [];
  private waiters: { pred: (p: Post) => boolean; resolve: (p: Post) => void }[] = [];
  private server: http.Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (raw += c));
      req.on('end', () => {
        const post: Post = {
          seq: this.posts.length,
          method: req.method ?? '',
          path: req.url ?? '',
          contentType: String(req.headers['content-type'] ?? ''),
          raw,
          body: JSON.parse(raw) as Post['body'],
        };
        this.posts.push(post);
        res.writeHead(req.url === '/fail' ? 500 : 204).end();
        for (const w of [...this.waiters]) {
          if (!w.pred(post)) continue;
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(post);
        }
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  url(p: string): string {
    return `http://127.0.0.1:${this.port}${p}`;
  }

  /** The first POST (already received or still to come) that matches. */
  next(pred: (p: Post) => boolean, what: string, timeoutMs = 20_000): Promise<Post> {
    const have = this.posts.find(pred);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      this.waiters.push(w);
      setTimeout(() => {
        if (!this.waiters.includes(w)) return;
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`no webhook POST for ${what} within ${timeoutMs} ms; got: ${this.posts.map((p) => `${p.path} ${p.body.event}`).join(', ')}`));
      }, timeoutMs).unref();
    });
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

const RFC3339_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

describe('webhook: a daemon POSTs its events to a real HTTP server', () => {
  let dir: string;
  let bb: BackboneProc;
  let a: Home;
  let b: Home;
  const hook = new HookServer();
  const suffix = Math.random().toString(36).slice(2, 7);
  const ha = `hook-a-${suffix}`;
  const hb = `hook-b-${suffix}`;
  let addrA = '';
  let addrB = '';
  let idA = 0;
  let idB = 0;

  const start = async (h: Home, hostname: string, extra: string[] = []): Promise<Record<string, unknown>> => {
    const r = await pilotctl(h.env, ['--json', 'daemon', 'start', '--registry', bb.registry, '--beacon', bb.beacon, '--hostname', hostname, '--public', '--listen', '127.0.0.1:0', ...extra]);
    expect(r.code, r.stderr).toBe(0);
    return envelope(r)['data'] as Record<string, unknown>;
  };
  const config = (h: Home): Record<string, unknown> => {
    try {
      return JSON.parse(fs.readFileSync(path.join(h.home, 'config.json'), 'utf8')) as Record<string, unknown>;
    } catch {
      return {};
    }
  };
  const stats = async (h: Home): Promise<WebhookStats> => {
    const c = await IpcClient.connect(h.socket);
    try {
      return (await c.callExt('daemon.webhook')) as WebhookStats;
    } finally {
      c.close();
    }
  };
  /** Waits until daemon A has nothing queued or in flight (polled over IPC; bounded by the test's own 30 s). */
  const drained = (h: Home): Promise<WebhookStats> =>
    vi.waitFor(
      async () => {
        const s = await stats(h);
        expect(s, 'webhook queue drained').toMatchObject({ queued: 0, in_flight: 0 });
        return s;
      },
      { timeout: 30_000 },
    );
  const ok = async (env: NodeJS.ProcessEnv, args: string[]): Promise<Record<string, unknown>> => {
    const r = await pilotctl(env, ['--json', ...args]);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return envelope(r)['data'] as Record<string, unknown>;
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-webhook-'));
    await hook.start();
    bb = await startBackboneProc(makeHome(dir, 'bb').env, path.join(dir, 'bb-data'));
    a = makeHome(dir, 'a');
    b = makeHome(dir, 'b');
    // A gets its webhook at start (--webhook), so its registration is the first event.
    const [da, db] = await Promise.all([start(a, ha, ['--webhook', hook.url('/start')]), start(b, hb)]);
    addrA = String(da['address']);
    addrB = String(db['address']);
    idA = Number(da['node_id']);
    idB = Number(db['node_id']);
  });

  afterAll(async () => {
    await Promise.all([a && pilotctl(a.env, ['daemon', 'stop']), b && pilotctl(b.env, ['daemon', 'stop'])]);
    if (bb && bb.proc.exitCode === null) bb.proc.kill('SIGKILL');
    await hook.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('daemon start --webhook: node.registered is the first POST, in the reference body shape', async () => {
    const p = await hook.next((x) => x.body.event === 'node.registered', 'node.registered');
    expect(p.seq).toBe(0);
    expect(p.method).toBe('POST');
    expect(p.path).toBe('/start');
    expect(p.contentType).toBe('application/json');
    expect(Object.keys(p.body)).toEqual(['event', 'node_id', 'timestamp', 'data']);
    expect(p.body).toMatchObject({ event: 'node.registered', node_id: idA, data: { address: addrA, endpoint: expect.stringMatching(/^127\.0\.0\.1:\d+$/) } });
    expect(p.body.timestamp).toMatch(RFC3339_UTC);
    expect(Math.abs(Date.parse(p.body.timestamp) - Date.now())).toBeLessThan(60_000);
  });

  it('refuses a bad URL: exit 1, invalid_argument, nothing saved, the daemon keeps its URL', async () => {
    for (const bad of ['ftp://127.0.0.1/hook', 'not-a-url', 'http://']) {
      const r = await pilotctl(a.env, ['--json', 'set-webhook', bad]);
      expect(r.code, bad).toBe(1);
      expect(envelope(r), bad).toMatchObject({ status: 'error', code: 'invalid_argument', message: expect.stringMatching(/must start with http:\/\/ or https:\/\//) });
    }
    const text = await pilotctl(a.env, ['set-webhook', 'ftp://x']);
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(/^error: invalid webhook URL "ftp:\/\/x": it must start with http:\/\/ or https:\/\/\nhint: {2}e\.g\. pilotctl set-webhook https:/);
    const missing = await pilotctl(a.env, ['--json', 'set-webhook']);
    expect(envelope(missing)).toMatchObject({ code: 'invalid_argument', message: 'missing <url>' });
    expect(config(a)['webhook']).toBeUndefined();
    // The daemon refuses it on the IPC socket too (a client other than pilotctl).
    const c = await IpcClient.connect(a.socket);
    try {
      await expect(c.requestJson({ cmd: 'set_webhook', url: 'gopher://x' }, 'set_webhook_ok')).rejects.toMatchObject({ code: 'invalid_argument', message: expect.stringMatching(/^set_webhook: invalid webhook URL/) });
    } finally {
      c.close();
    }
    expect(await stats(a)).toMatchObject({ enabled: true, target: `http://127.0.0.1:${hook.port}` });
    // daemon start validates --webhook before starting anything.
    const c2 = makeHome(dir, 'c');
    const st = await pilotctl(c2.env, ['--json', 'daemon', 'start', '--registry', bb.registry, '--beacon', bb.beacon, '--webhook', 'file:///etc/passwd']);
    expect(st.code).toBe(1);
    expect(envelope(st)).toMatchObject({ code: 'invalid_argument' });
    expect(fs.existsSync(c2.socket)).toBe(false);
  });

  it('set-webhook applies to the running daemon; a message from B posts tunnel, conn and message events', async () => {
    const t = await pilotctl(a.env, ['set-webhook', hook.url('/hook')]);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toBe(`webhook set: ${hook.url('/hook')}\napplied to running daemon\n`);
    expect(config(a)['webhook']).toBe(hook.url('/hook'));
    expect(await ok(a.env, ['set-webhook', hook.url('/hook')])).toEqual({ webhook: hook.url('/hook'), applied: true });

    expect(await ok(b.env, ['send-message', ha, '--data', 'hello hook'])).toMatchObject({ target: addrA, ack: 'ACK TEXT 10 bytes' });
    const onHook = (event: string, extra: (p: Post) => boolean = () => true) => hook.next((p) => p.path === '/hook' && p.body.event === event && extra(p), event);
    const added = await onHook('tunnel.peer_added', (p) => p.body.data?.['peer_node_id'] === idB);
    const tunnel = await onHook('tunnel.established', (p) => p.body.data?.['peer_node_id'] === idB);
    expect(tunnel.body.data).toEqual({ peer_node_id: idB, authenticated: true, relay: false, rekeyed: false });
    expect(added.seq).toBeLessThan(tunnel.seq);
    const fromB = (p: Post): boolean => p.body.data?.['src_addr'] === addrB && p.body.data?.['dst_port'] === 1001;
    const syn = await onHook('conn.syn_received', fromB);
    const est = await onHook('conn.established', fromB);
    expect(est.body.data).toEqual({ src_addr: addrB, src_port: expect.any(Number), dst_port: 1001, conn_id: expect.any(Number) });
    expect(syn.body.data).toEqual(est.body.data);
    const msg = await onHook('message.received');
    expect(msg.body).toMatchObject({ node_id: idA, data: { type: 'TEXT', from: addrB, size: 10 } });
    const fin = await onHook('conn.fin', (p) => p.body.data?.['conn_id'] === est.body.data?.['conn_id']);
    expect(fin.body.data).toEqual({ remote_addr: addrB, remote_port: est.body.data?.['src_port'], local_port: 1001, conn_id: est.body.data?.['conn_id'] });
    // One POST at a time: the receiver sees them in the order they happened.
    expect(syn.seq).toBeLessThan(est.seq);
    expect(est.seq).toBeLessThan(msg.seq);
    expect(msg.seq).toBeLessThan(fin.seq);
    for (const p of [tunnel, syn, est, msg, fin]) {
      expect(Object.keys(p.body)).toEqual(['event', 'node_id', 'timestamp', 'data']);
      expect(p.body.timestamp).toMatch(RFC3339_UTC);
    }
  });

  it('trust handshakes: handshake.received/.pending/.approved/.rejected/.auto_approved, trust.revoked/.revoked_by_peer', async () => {
    const event = (name: string, extra: (p: Post) => boolean = () => true) => hook.next((p) => p.body.event === name && extra(p), name);
    /** Polls B's trust list (the accept travels in the background) until it does or does not list A. */
    const bTrustsA = (want: boolean): Promise<void> =>
      vi.waitFor(
        async () => {
          const list = (await ok(b.env, ['trust']))['trusted'] as { node_id: number }[];
          expect(list.some((t) => t.node_id === idA), `B's trust list names A: ${want}`).toBe(want);
        },
        { timeout: 30_000 },
      );
    expect(await ok(b.env, ['handshake', String(idA), 'webhook please'])).toMatchObject({ node_id: idA, status: 'sent' });
    const received = await event('handshake.received');
    expect(received.body.data).toEqual({ peer_node_id: idB, justification: 'webhook please' });
    const pending = await event('handshake.pending');
    expect(pending.body.data).toEqual({ peer_node_id: idB, justification: 'webhook please' });
    expect(received.seq).toBeLessThan(pending.seq);

    expect(await ok(a.env, ['approve', String(idB)])).toMatchObject({ node_id: idB, status: 'approved' });
    expect((await event('handshake.approved')).body.data).toEqual({ peer_node_id: idB });
    await ok(a.env, ['untrust', String(idB)]);
    expect((await event('trust.revoked')).body.data).toEqual({ peer_node_id: idB });

    // Asked again, and rejected this time.
    await ok(b.env, ['handshake', String(idA), 'once more']);
    await event('handshake.pending', (p) => p.body.data?.['justification'] === 'once more');
    await ok(a.env, ['reject', String(idB), 'no thanks']);
    expect((await event('handshake.rejected')).body.data).toEqual({ peer_node_id: idB, reason: 'no thanks' });

    // A asks B, B asks A: mutual, auto-approved on A. Then B revokes: A hears it from the peer.
    await ok(a.env, ['handshake', String(idB), 'mutual']);
    await ok(b.env, ['handshake', String(idA), 'mutual']);
    expect((await event('handshake.auto_approved')).body.data).toEqual({ peer_node_id: idB, reason: 'mutual' });
    await bTrustsA(true);
    await ok(b.env, ['untrust', String(idA)]);
    expect((await event('trust.revoked_by_peer')).body.data).toEqual({ peer_node_id: idB, reason: 'trust revoked' });
  });

  it('datagrams, a refused dial and a received file', async () => {
    const cb = await IpcClient.connect(b.socket);
    const ca = await IpcClient.connect(a.socket);
    try {
      cb.send({ cmd: 'send_to', addr: parseAddress(addrA), port: 4321, data: new TextEncoder().encode('dgram') });
      const dg = await hook.next((p) => p.body.event === 'data.datagram', 'data.datagram');
      expect(dg.body.data).toEqual({ src_addr: addrB, src_port: expect.any(Number), dst_port: 4321, size: 5 });
      // Nothing listens on B's port 4999: B resets A's SYN.
      await expect(ca.request({ cmd: 'dial', addr: parseAddress(addrB), port: 4999 }, 'dial_ok')).rejects.toThrow(/refused/);
      const rst = await hook.next((p) => p.body.event === 'conn.rst', 'conn.rst');
      expect(rst.body.data).toEqual({ remote_addr: addrB, remote_port: 4999, local_port: expect.any(Number), conn_id: expect.any(Number) });
    } finally {
      ca.close();
      cb.close();
    }
    const file = path.join(dir, 'notes.txt');
    fs.writeFileSync(file, 'webhook file\n');
    await ok(b.env, ['send-file', addrA, file]);
    const got = await hook.next((p) => p.body.event === 'file.received', 'file.received');
    expect(got.body.data).toEqual({ filename: expect.stringMatching(/^notes-\d{8}-\d{6}\.\d{3}\.txt$/), size: 13, path: expect.stringContaining(path.join(a.home, 'received')), from: addrB });
  });

  it('event stream on A: pubsub.subscribed, .published and .unsubscribed', async () => {
    const topic = `hook-${suffix}`;
    await ok(b.env, ['publish', addrA, topic, '--data', 'xyz']);
    const sub = await hook.next((p) => p.body.event === 'pubsub.subscribed' && p.body.data?.['topic'] === topic, 'pubsub.subscribed');
    expect(sub.body.data).toEqual({ topic, remote: addrB });
    const pub = await hook.next((p) => p.body.event === 'pubsub.published' && p.body.data?.['topic'] === topic, 'pubsub.published');
    expect(pub.body.data).toEqual({ topic, size: 3, from: addrB });
    const unsub = await hook.next((p) => p.body.event === 'pubsub.unsubscribed' && p.body.data?.['topic'] === topic, 'pubsub.unsubscribed');
    expect(unsub.body.data).toEqual({ topic, remote: addrB });
  });

  it('a receiver answering 500 counts as failed in the daemon', async () => {
    await drained(a);
    const before = await stats(a);
    await ok(a.env, ['set-webhook', hook.url('/fail')]);
    await ok(b.env, ['send-message', ha, '--data', 'to a failing hook']);
    await hook.next((p) => p.path === '/fail' && p.body.event === 'message.received', 'message.received on /fail');
    const after = await drained(a);
    expect(after.failed).toBeGreaterThan(before.failed);
    expect(after.dropped).toBe(0);
  });

  it('clear-webhook stops the posts (proved with a sentinel URL set afterwards)', async () => {
    await drained(a);
    const t = await pilotctl(a.env, ['clear-webhook']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toBe('webhook cleared\napplied to running daemon\n');
    expect(config(a)['webhook']).toBeUndefined();
    expect(await stats(a)).toMatchObject({ enabled: false, target: '' });
    const mark = hook.posts.length;

    // An event while cleared: it happens (A's inbox has it) but is not posted.
    await ok(b.env, ['send-message', ha, '--data', 'while cleared']);
    const inbox = await ok(a.env, ['inbox']);
    expect((inbox['messages'] as { data: string }[]).map((m) => m.data)).toContain('while cleared');
    // Then a sentinel URL and one more event. Posts leave one at a time in emit order, so once the
    // sentinel's event has arrived, an event queued while cleared would have arrived before it.
    await ok(a.env, ['set-webhook', hook.url('/sentinel')]);
    await ok(b.env, ['send-message', ha, '--data', 'after']);
    await hook.next((p) => p.path === '/sentinel' && p.body.event === 'message.received', 'message.received on /sentinel');
    const between = hook.posts.slice(mark).filter((p) => p.path !== '/sentinel');
    expect(between.map((p) => `${p.path} ${p.body.event}`)).toEqual([]);

    // Without a running daemon the URL is only saved.
    const none = makeHome(dir, 'nodaemon');
    const saved = await pilotctl(none.env, ['set-webhook', hook.url('/later')]);
    expect(saved.stdout).toBe(`webhook set: ${hook.url('/later')}\nwill take effect on next daemon start\n`);
    expect(config(none)['webhook']).toBe(hook.url('/later'));
    expect(await ok(none.env, ['clear-webhook'])).toEqual({ webhook: '', applied: false });
    expect(config(none)['webhook']).toBeUndefined();
  });

  it('enable-tasks / disable-tasks round-trip through the registry', async () => {
    const reg = { ...a.env, PILOT_REGISTRY: bb.registry };
    expect(await ok(a.env, ['enable-tasks'])).toEqual({ node_id: idA, task_exec: true, type: 'set_task_exec_ok' });
    expect(await ok(reg, ['lookup', String(idA)])).toMatchObject({ node_id: idA, task_exec: true });
    const text = await pilotctl(a.env, ['disable-tasks']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toBe('task execution disabled\n');
    const off = await ok(reg, ['lookup', String(idA)]);
    expect(off['task_exec'] ?? false).toBe(false);
    expect(await ok(a.env, ['disable-tasks'])).toEqual({ node_id: idA, task_exec: false, type: 'set_task_exec_ok' });
  });

  it('deregister: the registry forgets the node and node.deregistered is posted', async () => {
    await ok(a.env, ['set-webhook', hook.url('/hook')]);
    expect(await ok(a.env, ['deregister'])).toEqual({ type: 'deregister_ok' });
    const p = await hook.next((x) => x.body.event === 'node.deregistered', 'node.deregistered');
    expect(p.body).toMatchObject({ node_id: idA, data: { address: addrA } });
    const reg = { ...b.env, PILOT_REGISTRY: bb.registry };
    const r = await pilotctl(reg, ['--json', 'lookup', String(idA)]);
    expect(r.code).toBe(1);
    expect(envelope(r)).toMatchObject({ status: 'error', code: 'not_found' });
    // B, still registered, is unaffected.
    expect(await ok(reg, ['lookup', String(idB)])).toMatchObject({ node_id: idB });
  });
});
