import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startBackbone, type Backbone } from '../backbone';
import { Identity } from '../crypto';
import { createLogger } from '../util/log';
import { PilotNode } from '../node/node';
import { LogRing } from '../observe/logs';
import { Tracer } from '../observe/tracer';
import { dispatchRequest } from './dispatch';
import { createNodeService, pingStats, type NodeService } from './node-service';
import type { ConsoleEvents } from '../../shared/contract';
import { silentLogger } from '../util/log';
import { formatAddress } from '../../shared/address';

// The console contract over real nodes and a real backbone on 127.0.0.1.
describe('node service (console contract)', () => {
  let bb: Backbone;
  const nodes: PilotNode[] = [];
  const svcs: NodeService[] = [];

  async function startNode(hostname: string, tags: string[]): Promise<{ node: PilotNode; svc: NodeService }> {
    const logs = new LogRing(1000);
    const node = new PilotNode({
      identity: Identity.generate(),
      registry: `127.0.0.1:${bb.registryAddress.port}`,
      beacon: `127.0.0.1:${bb.beaconAddress.port}`,
      hostname,
      tags,
      public: true,
      listen: '127.0.0.1:0',
      log: createLogger({ level: 'debug', sinks: [logs.sink] }),
    });
    await node.start();
    const svc = createNodeService({ node, logs, tracer: new Tracer(() => hostname) });
    nodes.push(node);
    svcs.push(svc);
    return { node, svc };
  }

  beforeAll(async () => {
    bb = await startBackbone({ registry: '127.0.0.1:0', beacon: '127.0.0.1:0', logger: silentLogger });
  });
  afterAll(async () => {
    for (const s of svcs) s.close();
    for (const n of nodes) await n.stop();
    await bb?.close();
  });

  it('pings by hostname with RTTs, the path, events and a trace', async () => {
    const a = await startNode('coordinator', []);
    const b = await startNode('specialist-papers', ['citations']);
    const replies: ConsoleEvents['ping.reply'][] = [];
    a.svc.on((event, data) => {
      if (event === 'ping.reply') replies.push(data as ConsoleEvents['ping.reply']);
    });
    const r = await a.svc.call('peers.ping', { target: 'specialist-papers', count: 3 });
    expect(r.nodeId).toBe(b.node.nodeId);
    expect(r.replies).toHaveLength(3);
    for (const rep of r.replies) expect(rep).toMatchObject({ path: 'direct' });
    expect(r.stats).toMatchObject({ sent: 3, received: 3 });
    expect(replies).toHaveLength(3);
    const peers = await a.svc.call('peers.list', {});
    expect(peers.find((p) => p.nodeId === b.node.nodeId)).toMatchObject({ hostname: 'specialist-papers', path: 'direct', encrypted: true });
    const spans = await a.svc.call('traces.list', {});
    const root = spans.find((s) => s.name === 'ping');
    expect(root).toBeDefined();
    expect(spans.filter((s) => s.traceId === root!.traceId).map((s) => s.name)).toEqual(expect.arrayContaining(['resolve', 'tunnel', 'echo', 'ping']));
    const detail = await a.svc.call('peers.inspect', { nodeId: b.node.nodeId });
    expect(detail.counters.framesOut).toBeGreaterThan(0);
    expect(detail.counters.keyExchangesReceived).toBeGreaterThan(0);
  });

  it('rejects invalid arguments at the boundary (dispatch) with invalid_argument', async () => {
    expect(await dispatchRequest(svcs[0]!, { id: 1, method: 'peers.ping', params: { target: '' } })).toMatchObject({ id: 1, ok: false, error: { code: 'invalid_argument' } });
    expect(await dispatchRequest(svcs[0]!, { id: 2, method: 'peers.ping', params: { target: 'x', count: 0 } })).toMatchObject({ ok: false, error: { code: 'invalid_argument' } });
    expect(await dispatchRequest(svcs[0]!, { id: 3, method: 'peers.ping', params: { target: 'no-such-host' } })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    await expect(svcs[0]!.call('peers.ping', { target: 'no-such-host' })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('finds a specialist by tag and works with groups', async () => {
    const [a] = [{ svc: svcs[0]! }];
    const found = await a.svc.call('find.nodes', { tags: ['citations'] });
    expect(found.map((f) => f.hostname)).toEqual(['specialist-papers']);
    const g = await a.svc.call('groups.create', { name: 'research' });
    expect(g).toMatchObject({ name: 'research', members: 1, joined: true });
    await svcs[1]!.call('groups.join', { name: 'research' });
    const list = await a.svc.call('groups.list', {});
    expect(list.find((x) => x.name === 'research')).toMatchObject({ members: 2 });
    const members = await a.svc.call('groups.members', { name: 'research' });
    expect(members.map((m) => m.hostname).sort()).toEqual(['coordinator', 'specialist-papers']);
    const got = new Promise<string>((resolve) => nodes[1]!.once('datagram', (d) => resolve(Buffer.from(d.data).toString())));
    const rep = await a.svc.call('groups.broadcast', { name: 'research', message: 'hello research' });
    expect(rep).toMatchObject({ members: 1, sent: 1 });
    expect(await got).toBe('hello research');
    await svcs[1]!.call('groups.leave', { name: 'research' });
    expect((await a.svc.call('groups.list', {})).find((x) => x.name === 'research')).toMatchObject({ members: 1 });
  });

  it('computes ping statistics', () => {
    expect(pingStats([{ seq: 0, rttMs: 3 }, { seq: 1, rttMs: 1 }, { seq: 2, error: 'timeout' }, { seq: 3, rttMs: 2 }])).toEqual({
      sent: 4,
      received: 3,
      minMs: 1,
      maxMs: 3,
      medianMs: 2,
      p99Ms: 3,
    });
  });
});

describe('node service with the built-in services (trust, tasks)', () => {
  it('coordinator finds a specialist by tag and submits a task to it; trust approval flows through events', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { startServices } = await import('../node/services');
    const { adaptServices } = await import('./services-adapter');
    const bb2 = await startBackbone({ registry: '127.0.0.1:0', beacon: '127.0.0.1:0', logger: silentLogger });
    const dir = await mkdtemp(join(tmpdir(), 'pf-svc-'));
    const made: { node: PilotNode; svc: NodeService; stop: () => Promise<void> }[] = [];
    const start = async (hostname: string, tags: string[], isPublic: boolean): Promise<{ node: PilotNode; svc: NodeService }> => {
      const logs = new LogRing(100);
      const node = new PilotNode({
        identity: Identity.generate(),
        registry: `127.0.0.1:${bb2.registryAddress.port}`,
        beacon: `127.0.0.1:${bb2.beaconAddress.port}`,
        hostname,
        tags,
        public: isPublic,
        listen: '127.0.0.1:0',
      });
      await node.start();
      const services = await startServices(node, { dataDir: join(dir, hostname) });
      const svc = createNodeService({ node, logs, tracer: new Tracer(() => hostname), services: adaptServices(node, services) });
      made.push({ node, svc, stop: async () => { svc.close(); await services.stop(); await node.stop(); } });
      return { node, svc };
    };
    try {
      const coord = await start('coordinator', [], true);
      const spec = await start('specialist-fx', ['fx-rates'], true);
      const report = await coord.svc.call('tasks.submit', { tag: 'fx-rates', description: 'EUR/USD close for 2026-11-24' });
      expect(report).toMatchObject({ address: formatAddress(spec.node.address), accepted: true, status: 200 });
      expect(report.chosenBy).toBeTruthy();
      const received = await spec.svc.call('tasks.list', { category: 'received' });
      expect(received.map((t) => t.description)).toEqual(['EUR/USD close for 2026-11-24']);

      // Trust: a private node gets a request; its console sees the event and approves.
      const priv = await start('specialist-news', ['news'], false);
      const requested = new Promise<ConsoleEvents['trust.requested']>((resolve) =>
        priv.svc.on((event, data) => {
          if (event === 'trust.requested') resolve(data as ConsoleEvents['trust.requested']);
        }),
      );
      await coord.svc.call('trust.request', { target: String(priv.node.nodeId), justification: 'need news' });
      const req = await requested;
      expect(req).toMatchObject({ nodeId: coord.node.nodeId, justification: 'need news' });
      expect((await priv.svc.call('trust.pending', {})).map((p) => p.nodeId)).toEqual([coord.node.nodeId]);
      await priv.svc.call('trust.approve', { nodeId: coord.node.nodeId });
      expect((await priv.svc.call('trust.list', {})).map((p) => p.nodeId)).toEqual([coord.node.nodeId]);
    } finally {
      for (const m of made.reverse()) await m.stop();
      await bb2.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
