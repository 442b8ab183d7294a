/**
 * One packed worker process of the fleet (bench/fleet.ts, test/scale/fleet.test.ts): runs a slice
 * of the fleet's nodes, each a real PilotNode (own identity, own UDP socket on 127.0.0.1, its own
 * registry connection, heartbeats, tunnels) with the built-in services, and does what the driver
 * asks over the IPC channel (see fleet-common.ts for the messages). Each node's registry calls are
 * client spans `registry.<type>`: their durations are the latencies the driver reports.
 *
 * Workers run the task worker's side automatically: a received task is accepted and answered with
 * a text result at once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Identity } from '../main/crypto';
import { PilotNode } from '../main/node/node';
import { startServices, type Services } from '../main/node/services';
import { FleetQueryService } from '../main/node/services/fleet-query';
import { silentLogger } from '../main/util/log';
import { type FleetReply, type FleetRequest, type NodeSpec, type TaskOutcome, type WorkerStats, nodeSpec, percentileSummary } from './fleet-common';

interface Member {
  index: number;
  spec: NodeSpec;
  node: PilotNode;
  services: Services;
  fleetQuery: FleetQueryService;
}

const members: Member[] = [];
const latencies = new Map<string, number[]>();
const errors: Record<string, number> = {};
let rssBefore = process.memoryUsage().rss;
let heapBefore = process.memoryUsage().heapUsed;
let tasksServed = 0;

/** With --expose-gc (the driver forks workers with it): memory figures without garbage. */
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

function count(key: string): void {
  errors[key] = (errors[key] ?? 0) + 1;
}

async function pool<T>(items: T[], width: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

async function startMember(index: number, req: Extract<FleetRequest, { op: 'start' }>): Promise<void> {
  const spec = nodeSpec(index, req.nodes, req.coordinators, req.prefix);
  const node = new PilotNode({
    identity: Identity.generate(),
    registry: req.registry,
    beacon: req.beacon,
    listen: '127.0.0.1:0',
    hostname: spec.hostname,
    tags: spec.tags,
    public: true,
    heartbeatMs: req.heartbeatMs,
    log: silentLogger,
  });
  node.tracer.onSpan((s) => {
    if (!s.name.startsWith('registry.')) return;
    let xs = latencies.get(s.name);
    if (!xs) latencies.set(s.name, (xs = []));
    xs.push(s.durationMs);
  });
  await node.start();
  const services = await startServices(node, { dataDir: path.join(req.dir, `n${index}`), trust: { policy: 'open' } });
  // The fleet query (port 1011) as the daemon runs it, so a console attached to the fleet sees every pair.
  const trust = services.trust;
  const fleetQuery = new FleetQueryService(node, { mayQuery: (p) => !!trust && (trust.isTrusted(p) || trust.sharesGroup(p)), mayProbe: (p) => !!trust?.isTrusted(p) }, silentLogger);
  fleetQuery.start({ netcheck: false });
  // The worker's side of a task: accept, then answer at once.
  services.tasks?.on('received', (task) => {
    const t = services.tasks!;
    t.accept(task.task_id)
      .then(() => t.sendResults(task.task_id, { text: `done by ${spec.hostname}` }))
      .then(() => tasksServed++)
      .catch((e: unknown) => {
        count('task.serve');
        node.log.warn('task serve failed', { err: String(e) });
      });
  });
  members.push({ index, spec, node, services, fleetQuery });
}

async function handle(req: FleetRequest): Promise<unknown> {
  switch (req.op) {
    case 'start': {
      fs.mkdirSync(req.dir, { recursive: true });
      gc();
      const mem = process.memoryUsage();
      rssBefore = mem.rss;
      heapBefore = mem.heapUsed;
      const idx = Array.from({ length: req.count }, (_, k) => req.first + k);
      await pool(idx, req.concurrency, (i) => startMember(i, req));
      members.sort((a, b) => a.index - b.index);
      return members.map((m) => ({ index: m.index, nodeId: m.node.nodeId, hostname: m.spec.hostname }));
    }
    case 'create-groups': {
      const m = members[0]!;
      const ids: number[] = [];
      for (const name of req.names) ids.push((await m.node.registry.createNetwork(name)).network_id);
      return ids;
    }
    case 'join': {
      let joined = 0;
      await pool(members, 16, async (m) => {
        const g = req.groupIds[m.index % req.groupIds.length]!;
        if (m.node.nodeId === req.creatorId) return; // the creator is a member already
        try {
          await m.node.registry.joinNetwork(g);
          joined++;
        } catch {
          count('join');
        }
      });
      return joined;
    }
    case 'leave': {
      let left = 0;
      await pool(
        members.filter((m) => m.index % req.every === 0),
        16,
        async (m) => {
          try {
            await m.node.registry.leaveNetwork(req.groupIds[m.index % req.groupIds.length]!);
            left++;
          } catch {
            count('leave');
          }
        },
      );
      return left;
    }
    case 'lookups': {
      await pool(members, 16, async (m) => {
        for (let k = 0; k < req.perNode; k++) {
          const target = req.nodeIds[(m.index * 7919 + k * 104729) % req.nodeIds.length]!;
          await m.node.registry.lookup(target).catch(() => count('lookup'));
        }
      });
      return null;
    }
    case 'tasks':
      return runCoordinators(req.perCoordinator, req.waitMs);
    case 'stats': {
      gc();
      const mem = process.memoryUsage();
      const s: WorkerStats = {
        nodes: members.length,
        rssBefore,
        rss: mem.rss,
        heapBefore,
        heapUsed: mem.heapUsed,
        latencies: Object.fromEntries([...latencies].map(([k, v]) => [k, percentileSummary(v)])),
        errors,
        tasksServed,
      };
      if (req.reset) latencies.clear();
      return s;
    }
    case 'stop':
      await pool(members, 32, async (m) => {
        m.fleetQuery.stop();
        await m.services.stop();
        await m.node.stop();
      });
      return null;
  }
}

/** Each coordinator: find peers by its tag, ping them, submit tasks, wait for their results. */
async function runCoordinators(perCoordinator: number, waitMs: number): Promise<TaskOutcome> {
  const out: TaskOutcome = { found: 0, pinged: 0, pingFailed: 0, submitted: 0, accepted: 0, completed: 0, failed: 0 };
  const coords = members.filter((m) => m.spec.coordinator);
  await Promise.all(
    coords.map(async (c) => {
      const tasks = c.services.tasks!;
      const accepted: string[] = [];
      const done = new Set<string>();
      let check: () => void = () => {};
      tasks.on('result', (r) => {
        done.add(r.task_id);
        check();
      });
      // Polo gate (services.md §4): a worker accepts when the submitter's score >= its own.
      await c.node.registry.setPoloScore(c.node.nodeId, 1_000_000);
      const found = await c.node.registry.findNodes({ tags: [c.spec.seeks], limit: 1000 });
      const peers = found.nodes.filter((n) => n.node_id !== c.node.nodeId);
      out.found += peers.length;
      for (let k = 0; k < perCoordinator && peers.length > 0; k++) {
        const peer = peers[k % peers.length]!;
        try {
          await c.node.controlPing(peer.node_id, 5000);
          out.pinged++;
        } catch {
          out.pingFailed++;
        }
        try {
          out.submitted++;
          const r = await tasks.submit(peer.node_id, `fleet task ${k} from ${c.spec.hostname}`);
          if (r.accepted) {
            out.accepted++;
            accepted.push(r.task_id);
          }
        } catch {
          out.failed++;
        }
      }
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        check = () => {
          if (accepted.every((id) => done.has(id))) resolve();
        };
        timer = setTimeout(resolve, waitMs);
        check();
      });
      out.completed += accepted.filter((id) => done.has(id)).length;
      clearTimeout(timer);
    }),
  );
  return out;
}

process.on('message', (msg: { id: number; req: FleetRequest }) => {
  handle(msg.req).then(
    (data) => process.send!({ id: msg.id, ok: true, data } satisfies FleetReply),
    (e: unknown) => process.send!({ id: msg.id, ok: false, error: e instanceof Error ? `${e.message}\n${e.stack}` : String(e) } satisfies FleetReply),
  );
});
process.on('disconnect', () => process.exit(0));
