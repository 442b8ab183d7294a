import { afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import type { MethodArgs, MethodName, MethodResult, ResponseEnvelope } from '../../shared/contract';
import type { ConsoleService } from '../../main/api/service';
import { startWebConsole, type WebConsole } from '../../main/console/web-server';

// Issue 10: the console WebSocket flooded — many requests, slow requests, many connections, big
// frames — over real sockets against the real web server with its default limits. The server stays
// responsive to a legitimate client, and what a flooder can make it hold is bounded: service calls
// in flight per socket, sockets, frame size.

/** Counts calls in flight; `peers.ping` hangs until released (a slow call), everything else answers at once. */
class GatedService implements ConsoleService {
  inFlight = 0;
  maxInFlight = 0;
  calls = 0;
  private release: (() => void)[] = [];
  on = (): (() => void) => () => undefined;
  async call<M extends MethodName>(method: M, _args: MethodArgs<M>): Promise<MethodResult<M>> {
    this.calls++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (method === 'peers.ping') await new Promise<void>((r) => this.release.push(r));
      return [] as unknown as MethodResult<M>;
    } finally {
      this.inFlight--;
    }
  }
  releaseAll(): void {
    for (const r of this.release.splice(0)) r();
  }
}

const staticDir = mkdtempSync(path.join(tmpdir(), 'pilot-flood-'));
writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>t</title>');

const open: { c: WebConsole; s: GatedService; sockets: WebSocket[] }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    o.s.releaseAll();
    for (const ws of o.sockets) ws.terminate();
    await o.c.close();
  }
});

async function start(): Promise<{ c: WebConsole; s: GatedService; sockets: WebSocket[] }> {
  const s = new GatedService();
  const c = await startWebConsole({ service: s, staticDir, port: 0 });
  const o = { c, s, sockets: [] as WebSocket[] };
  open.push(o);
  return o;
}

/** Opens an API socket; resolves with it, or rejects with the HTTP status of a refused upgrade. */
function connect(o: { c: WebConsole; sockets: WebSocket[] }, token = o.c.token): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${o.c.port}/api?token=${encodeURIComponent(token)}`);
    o.sockets.push(ws);
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

/** A client that matches responses to requests. */
class Client {
  private next = 1;
  readonly answers = new Map<number, ResponseEnvelope>();
  closeCode: number | undefined;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as ResponseEnvelope;
      if ('id' in m) this.answers.set(m.id, m);
    });
    ws.on('close', (code) => (this.closeCode = code));
  }
  fire(method: string, params: unknown = {}): number {
    const id = this.next++;
    this.ws.send(JSON.stringify({ id, method, params }));
    return id;
  }
  async call(method: string, params: unknown = {}): Promise<ResponseEnvelope> {
    const id = this.fire(method, params);
    await vi.waitFor(() => expect(this.answers.has(id)).toBe(true), { timeout: 10_000, interval: 5 });
    return this.answers.get(id)!;
  }
}

describe('the console WebSocket flooded', () => {
  it('slow requests: calls in flight per socket are capped, the excess is refused at once, a legitimate client is answered', async () => {
    const o = await start();
    const flooder = new Client(await connect(o));
    const legit = new Client(await connect(o));
    const N = 300; // under the burst of the rate limit: this is about calls that do not finish
    const ids = Array.from({ length: N }, () => flooder.fire('peers.ping', { target: '0:0000.0000.0001' }));
    // 64 calls run; every other one is answered rate_limited at once instead of waiting its turn.
    await vi.waitFor(() => expect(flooder.answers.size).toBe(N - 64), { timeout: 10_000, interval: 10 });
    expect(o.s.inFlight).toBe(64);
    for (const a of flooder.answers.values()) expect(a).toMatchObject({ ok: false, error: { code: 'rate_limited' } });
    expect((await legit.call('peers.list')).ok).toBe(true);
    expect(o.s.maxInFlight).toBe(65); // the flooder's 64 plus the legitimate call
    // once its calls finish, the socket is served again
    o.s.releaseAll();
    await vi.waitFor(() => expect(flooder.answers.size).toBe(N), { timeout: 10_000, interval: 10 });
    expect(ids.filter((id) => flooder.answers.get(id)?.ok === true)).toHaveLength(64);
    expect((await flooder.call('peers.list')).ok).toBe(true);
    expect(flooder.closeCode).toBeUndefined();
  });

  it('fast requests: a socket far over the request rate is closed (1008); a legitimate client is answered throughout', async () => {
    const o = await start();
    const flooder = new Client(await connect(o));
    const legit = new Client(await connect(o));
    for (let i = 0; i < 50_000 && flooder.ws.readyState === WebSocket.OPEN; i++) {
      flooder.fire('peers.list');
      if (i % 1000 === 999) await new Promise<void>((r) => setImmediate(r)); // let the close arrive
    }
    await vi.waitFor(() => expect(flooder.closeCode).toBe(1008), { timeout: 20_000, interval: 10 });
    expect(o.s.calls).toBeLessThan(50_000);
    expect((await legit.call('peers.list')).ok).toBe(true);
    // a new socket from the same page works (the limit is per socket, not a ban)
    expect((await new Client(await connect(o)).call('peers.list')).ok).toBe(true);
  });

  it('many connections: sockets beyond the cap are refused (503); unauthenticated ones never get in; the first client still works', async () => {
    const o = await start();
    const legit = new Client(await connect(o));
    const results = await Promise.allSettled(Array.from({ length: 100 }, () => connect(o)));
    const refused = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
    expect(o.c.clients()).toBeLessThanOrEqual(32);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(r).toContain('HTTP 503');
    const bad = await Promise.allSettled(Array.from({ length: 200 }, () => connect(o, 'x'.repeat(43))));
    for (const r of bad) expect(String((r as PromiseRejectedResult).reason)).toContain('HTTP 401');
    expect((await legit.call('peers.list')).ok).toBe(true);
    // closing sockets frees their places
    for (const ws of o.sockets.slice(1)) ws.close();
    await vi.waitFor(() => expect(o.c.clients()).toBe(1), { timeout: 10_000, interval: 10 });
    expect((await new Client(await connect(o)).call('peers.list')).ok).toBe(true);
  });

  it('an oversized frame closes only that socket (1009)', async () => {
    const o = await start();
    const big = new Client(await connect(o));
    const legit = new Client(await connect(o));
    big.ws.send(JSON.stringify({ id: 1, method: 'peers.list', params: { pad: 'x'.repeat(2 * 1024 * 1024) } }));
    await vi.waitFor(() => expect(big.closeCode).toBe(1009), { timeout: 10_000, interval: 10 });
    expect(o.s.calls).toBe(0);
    expect((await legit.call('peers.list')).ok).toBe(true);
  });
});
