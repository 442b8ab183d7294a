import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { RequestEnvelope } from '../../../shared/contract';
import { ConsoleCallError } from './errors';
import type { ConnectionStatus, ConsoleTransport } from './types';
import { websocketClient, type WebSocketLike } from './websocket';

// The client against a real WebSocket server (the `ws` package) speaking the contract's envelopes.
// `.node.test.ts`: the server needs Node, so tsconfig.renderer-node-test.json checks this file with
// Node's types; every other renderer test is checked without them (tsconfig.renderer-test.json).
const connect = (u: string): WebSocketLike => new WebSocket(u) as unknown as WebSocketLike;

interface Server {
  wss: WebSocketServer;
  url: string;
  requests: RequestEnvelope[];
  sockets: Set<WebSocket>;
  answer: (req: RequestEnvelope, ws: WebSocket) => void;
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function server(answer?: Server['answer'], port = 0): Promise<Server> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const addr = wss.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  const s: Server = {
    wss,
    url: `ws://127.0.0.1:${addr.port}/api?token=t`,
    requests: [],
    sockets: new Set(),
    answer: answer ?? ((req, ws) => ws.send(JSON.stringify({ id: req.id, ok: true, result: { echo: req.method } }))),
  };
  wss.on('connection', (ws) => {
    s.sockets.add(ws);
    ws.on('close', () => s.sockets.delete(ws));
    ws.on('message', (d) => {
      const req = JSON.parse(String(d)) as RequestEnvelope;
      s.requests.push(req);
      s.answer(req, ws);
    });
  });
  cleanup.push(() => new Promise<void>((r) => {
    for (const ws of wss.clients) ws.terminate();
    wss.close(() => r());
  }));
  return s;
}

function client(url: string, opts: Parameters<typeof websocketClient>[1] = {}): ConsoleTransport {
  const c = websocketClient(url, { connect, initialBackoffMs: 20, maxBackoffMs: 100, random: () => 0.5, ...opts });
  cleanup.push(() => c.close());
  return c;
}

function status(c: ConsoleTransport, want: ConnectionStatus): Promise<void> {
  if (c.status() === want) return Promise.resolve();
  return new Promise((resolve) => {
    const off = c.onStatus((s) => {
      if (s === want) {
        off();
        resolve();
      }
    });
  });
}

describe('websocketClient', () => {
  it('sends typed requests and resolves with the result', async () => {
    const s = await server();
    const c = client(s.url);
    await status(c, 'open');
    const r = await c.call('peers.list', {});
    expect(r).toEqual({ echo: 'peers.list' });
    expect(s.requests).toEqual([{ id: 1, method: 'peers.list', params: {} }]);
  });

  it('queues calls made while connecting', async () => {
    const s = await server();
    const c = client(s.url);
    expect(c.status()).toBe('connecting');
    const [a, b] = await Promise.all([c.call('node.info', {}), c.call('groups.list', {})]);
    expect([a, b]).toEqual([{ echo: 'node.info' }, { echo: 'groups.list' }]);
  });

  it('rejects with the server’s error code', async () => {
    const s = await server((req, ws) => ws.send(JSON.stringify({ id: req.id, ok: false, error: { code: 'not_found', message: 'no peer 9', hint: 'ping it' } })));
    const c = client(s.url);
    const err = await c.call('peers.inspect', { nodeId: 9 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConsoleCallError);
    expect(err).toMatchObject({ code: 'not_found', message: 'no peer 9', hint: 'ping it' });
  });

  it('delivers events to their handlers only, and stops after unsubscribe', async () => {
    const s = await server();
    const c = client(s.url);
    await status(c, 'open');
    const logs: unknown[] = [];
    const peers: unknown[] = [];
    const offLog = c.on('log', (l) => logs.push(l));
    c.on('peer.updated', (p) => peers.push(p));
    const ws = [...s.sockets][0];
    ws?.send(JSON.stringify({ event: 'log', data: { msg: 1 } }));
    ws?.send(JSON.stringify({ event: 'not.an.event', data: {} }));
    ws?.send('not json');
    ws?.send(JSON.stringify({ event: 'peer.updated', data: { nodeId: 3 } }));
    await c.call('node.info', {}); // a round trip orders us after the events
    offLog();
    ws?.send(JSON.stringify({ event: 'log', data: { msg: 2 } }));
    await c.call('node.info', {});
    expect(logs).toEqual([{ msg: 1 }]);
    expect(peers).toEqual([{ nodeId: 3 }]);
  });

  it('fails calls in flight when the link drops, then reconnects by itself', async () => {
    let hold = true;
    const s = await server((req, ws) => {
      if (!hold) ws.send(JSON.stringify({ id: req.id, ok: true, result: 'late' }));
    });
    const c = client(s.url);
    await status(c, 'open');
    const statuses: ConnectionStatus[] = [];
    c.onStatus((st) => statuses.push(st));
    const inFlight = c.call('peers.ping', { target: 'x' });
    await expect.poll(() => s.requests.length).toBe(1);
    for (const ws of s.sockets) ws.terminate();
    await expect(inFlight).rejects.toMatchObject({ code: 'unavailable' });
    await status(c, 'open');
    expect(statuses).toEqual(['reconnecting', 'open']);
    hold = false;
    expect(await c.call('node.info', {})).toBe('late');
  });

  it('gives up on a queued call after the queue timeout while nothing answers', async () => {
    const s = await server();
    const url = s.url;
    await cleanup.pop()?.(); // the server is gone
    const c = client(url, { queueTimeoutMs: 150 });
    await expect(c.call('node.info', {})).rejects.toMatchObject({ code: 'unavailable' });
    expect(['connecting', 'reconnecting']).toContain(c.status());
  });

  it('close() ends it: pending calls fail, no reconnect, status closed', async () => {
    const s = await server(() => undefined);
    const c = client(s.url);
    await status(c, 'open');
    const p = c.call('node.info', {});
    await expect.poll(() => s.requests.length).toBe(1);
    c.close();
    await expect(p).rejects.toMatchObject({ code: 'unavailable' });
    expect(c.status()).toBe('closed');
    await expect(c.call('node.info', {})).rejects.toMatchObject({ code: 'unavailable' });
    await expect.poll(() => s.sockets.size).toBe(0);
  });
});
