import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import type { ConsoleEvents, MethodArgs, MethodName, MethodResult, PeerView, ResponseEnvelope } from '../../shared/contract';
import { PilotError } from '../../shared/errors';
import { Emitter } from '../../shared/emitter';
import type { ConsoleService } from '../api/service';
import { startWebConsole, type WebConsole } from './web-server';

// Transport tests: the service here only records what reached it; features are verified elsewhere
// against a real node.
class RecordingService implements ConsoleService {
  readonly hub = new Emitter<ConsoleEvents>();
  readonly calls: { method: MethodName; args: unknown }[] = [];
  on = this.hub.onAny.bind(this.hub);
  async call<M extends MethodName>(method: M, args: MethodArgs<M>): Promise<MethodResult<M>> {
    this.calls.push({ method, args });
    if (method === 'peers.inspect') throw new PilotError('not_found', 'no such peer', 'ping it first');
    if (method === 'node.setHostname') throw new Error('boom');
    if (method === 'groups.leave') return { name: (args as MethodArgs<'groups.leave'>).name } as MethodResult<M>;
    return [] as unknown as MethodResult<M>;
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pilot-web-'));
  await mkdir(path.join(dir, 'assets'));
  await writeFile(path.join(dir, 'index.html'), '<!doctype html><title>t</title>');
  await writeFile(path.join(dir, 'assets', 'app.js'), 'console.log(1)');
  await writeFile(path.join(path.dirname(dir), 'secret.txt'), 'nope');
});

const open: WebConsole[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function start(service: ConsoleService = new RecordingService()): Promise<WebConsole> {
  const c = await startWebConsole({ service, staticDir: dir, port: 0 });
  open.push(c);
  return c;
}

function get(c: WebConsole, p: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; type?: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: c.port, path: p, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: res.headers['content-type'] }));
    });
    req.on('error', reject);
    req.end();
  });
}

function connect(c: WebConsole, token = c.token, origin?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${c.port}/api?token=${encodeURIComponent(token)}`, origin ? { origin } : {});
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

class Rpc {
  private next = 1;
  private readonly waiting = new Map<number, (r: ResponseEnvelope) => void>();
  readonly events: unknown[] = [];
  private readonly eventWaiters: (() => void)[] = [];
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      const msg = JSON.parse(String(d)) as ResponseEnvelope | { event: string };
      if ('event' in msg) {
        this.events.push(msg);
        this.eventWaiters.splice(0).forEach((f) => f());
      } else this.waiting.get(msg.id)?.(msg);
    });
  }
  raw(text: string, id: number): Promise<ResponseEnvelope> {
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.ws.send(text);
    });
  }
  call(method: string, params: unknown): Promise<ResponseEnvelope> {
    const id = this.next++;
    return this.raw(JSON.stringify({ id, method, params }), id);
  }
  async eventCount(n: number): Promise<void> {
    while (this.events.length < n) await new Promise<void>((r) => this.eventWaiters.push(r));
  }
}

describe('startWebConsole', () => {
  it('refuses a non-loopback host', async () => {
    await expect(startWebConsole({ service: new RecordingService(), host: '0.0.0.0', staticDir: dir })).rejects.toThrow(/loopback/);
  });

  it('serves the renderer with its token in the URL', async () => {
    const c = await start();
    expect(c.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${c.port}/\\?token=[A-Za-z0-9_-]{40,}$`));
    const index = await get(c, '/?token=x');
    expect(index.status).toBe(200);
    expect(index.type).toMatch(/text\/html/);
    const js = await get(c, '/assets/app.js');
    expect(js.status).toBe(200);
    expect(js.type).toMatch(/javascript/);
    expect((await get(c, '/assets/missing.js')).status).toBe(404);
    expect((await get(c, '/peer/7')).body).toContain('<title>t</title>');
  });

  it('never serves outside its directory and answers only to loopback Host names', async () => {
    const c = await start();
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/%2e%2e/%2e%2e/secret.txt']) {
      const r = await get(c, p);
      expect(r.body).not.toContain('nope');
    }
    expect((await get(c, '/', { host: `evil.example:${c.port}` })).status).toBe(421);
    expect((await get(c, '/', { host: `localhost:${c.port}` })).status).toBe(200);
  });

  it('requires the token and a same-origin page on the WebSocket', async () => {
    const c = await start();
    await expect(connect(c, 'wrong-token-wrong-token-wrong')).rejects.toThrow(/401/);
    await expect(connect(c, '')).rejects.toThrow(/401/);
    await expect(connect(c, c.token, 'http://evil.example')).rejects.toThrow(/403/);
    const ws = await connect(c, c.token, `http://127.0.0.1:${c.port}`);
    expect(c.clients()).toBe(1);
    ws.close();
  });

  it('validates every request before the service sees it', async () => {
    const svc = new RecordingService();
    const c = await start(svc);
    const rpc = new Rpc(await connect(c));
    expect(await rpc.call('peers.list', {})).toEqual({ id: 1, ok: true, result: [] });
    const bad = await rpc.call('peers.ping', { target: '' });
    expect(bad).toMatchObject({ id: 2, ok: false, error: { code: 'invalid_argument' } });
    const extra = await rpc.call('groups.leave', { name: 'x', sneaky: true });
    expect(extra).toMatchObject({ ok: false, error: { code: 'invalid_argument' } });
    const unknown = await rpc.call('node.shutdown', {});
    expect(unknown).toMatchObject({ ok: false, error: { code: 'not_found' } });
    const notJson = await rpc.raw('{nope', -1);
    expect(notJson).toMatchObject({ id: -1, ok: false, error: { code: 'invalid_argument' } });
    expect(svc.calls.map((x) => x.method)).toEqual(['peers.list']);
    expect(await rpc.call('groups.leave', { name: 'BACKBONE' })).toEqual({ id: 5, ok: true, result: { name: 'BACKBONE' } });
    rpc.ws.close();
  });

  it('passes typed errors through and hides nothing else', async () => {
    const c = await start();
    const rpc = new Rpc(await connect(c));
    expect(await rpc.call('peers.inspect', { nodeId: 7 })).toEqual({ id: 1, ok: false, error: { code: 'not_found', message: 'no such peer', hint: 'ping it first' } });
    expect(await rpc.call('node.setHostname', { hostname: 'a' })).toEqual({ id: 2, ok: false, error: { code: 'internal', message: 'boom' } });
    rpc.ws.close();
  });

  it('pushes events to every connected socket', async () => {
    const svc = new RecordingService();
    const c = await start(svc);
    const a = new Rpc(await connect(c));
    const b = new Rpc(await connect(c));
    const peer: PeerView = { nodeId: 7, address: '0:0000.0000.0007', tags: [], groups: [], path: 'direct', rttHistory: [], trust: 'none', encrypted: true, authenticated: true };
    svc.hub.emit('peer.updated', peer);
    svc.hub.emit('log', { t: 'x', level: 'info', msg: 'hi', fields: {} });
    await a.eventCount(2);
    await b.eventCount(2);
    expect(a.events).toEqual([{ event: 'peer.updated', data: peer }, { event: 'log', data: { t: 'x', level: 'info', msg: 'hi', fields: {} } }]);
    expect(b.events).toEqual(a.events);
    a.ws.close();
    b.ws.close();
  });

  it('closes its sockets and stops listening on close()', async () => {
    const svc = new RecordingService();
    const c = await startWebConsole({ service: svc, staticDir: dir });
    const ws = await connect(c);
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    expect(svc.hub.size).toBe(1);
    await c.close();
    expect(await closed).toBe(1001);
    expect(svc.hub.size).toBe(0);
    await expect(get(c, '/')).rejects.toThrow();
  });
});
