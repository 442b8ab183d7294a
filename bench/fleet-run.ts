/**
 * The fleet driver: one backbone process (fleet-backbone.ts) and N real nodes packed into a few
 * worker processes (fleet-worker.ts), then the workload, phase by phase:
 *   up       every node starts (identity, UDP socket, registration, tags, services); then the
 *            driver waits until every node is findable (tag search and hostname resolution);
 *   groups   one node creates the groups, every node joins one, every `leaveEvery`-th leaves;
 *   lookups  every node looks up `lookupsPerNode` other nodes;
 *   tasks    coordinators find peers by tag, ping them and submit tasks, which workers complete;
 *   steady   the fleet idles for `holdMs` (heartbeats only) while the backbone's CPU is sampled.
 * Used by bench/fleet.ts (figures) and test/scale/fleet.test.ts (behaviour, 100 nodes).
 */
import { spawn, fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { RegistryClient } from '../main/node/registry-client';
import { SKILLS, type FleetReply, type FleetRequest, type Summary, type TaskOutcome, type WorkerStats, percentileSummary } from './fleet-common';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface FleetOptions {
  nodes: number;
  workers: number;
  coordinators: number;
  tasksPerCoordinator: number;
  heartbeatMs: number;
  groups: number;
  leaveEvery: number;
  lookupsPerNode: number;
  holdMs: number;
  /** Nodes a worker starts at once. */
  concurrency: number;
  /** How long coordinators wait for their tasks' results. */
  taskWaitMs: number;
  /** The steady phase also lasts until the nodes sent this many heartbeats in it (tests). */
  minHeartbeats?: number;
  log?: (line: string) => void;
}

export const FLEET_DEFAULTS: FleetOptions = {
  nodes: 500,
  workers: 4,
  coordinators: 5,
  tasksPerCoordinator: 20,
  heartbeatMs: 30_000,
  groups: 10,
  leaveEvery: 5,
  lookupsPerNode: 5,
  holdMs: 65_000,
  concurrency: 10,
  taskWaitMs: 60_000,
};

interface CpuMem {
  cpu: { user: number; system: number };
  mem: { rss: number; heapUsed: number };
  status: { nodes: number; online: number; groups: number; requests: number; errors: number; connections: number };
}

export interface PhaseStats {
  name: string;
  ms: number;
  /** Registry call latencies seen by the nodes, by call type (`registry.lookup`, ...). */
  latencies: Record<string, Summary>;
  /** Backbone CPU time during the phase (user + system, ms). */
  backboneCpuMs: number;
}

export interface FleetReport {
  nodes: number;
  workers: number;
  upMs: number;
  findableMs: number;
  foundByTag: number;
  resolvedByHostname: number;
  groups: { created: number; joined: number; left: number; membersAfterJoin: number; membersAfterLeave: number };
  tasks: TaskOutcome;
  tasksServed: number;
  phases: PhaseStats[];
  backbone: { rss: number; heapUsed: number; cpuMsTotal: number; nodes: number; online: number; connections: number; errors: number };
  /** (worker RSS after - before starting its nodes) / nodes, after a GC. */
  workerRssPerNode: number;
  workerHeapPerNode: number;
  /** Total RSS of the worker processes / nodes (includes each process's own base). */
  workerRssTotalPerNode: number;
  errors: Record<string, number>;
  registry: string;
  beacon: string;
}

export interface Fleet {
  report: FleetReport;
  /** Stops workers and backbone, removes the data directory. */
  stop(): Promise<void>;
}

class Backbone {
  private readonly lines: readline.Interface;
  private waiters: ((l: string) => void)[] = [];
  readonly exited: Promise<number | null>;
  constructor(readonly proc: ChildProcess) {
    this.lines = readline.createInterface({ input: proc.stdout! });
    this.lines.on('line', (l) => this.waiters.shift()?.(l));
    this.exited = new Promise((r) => proc.once('exit', (code) => r(code)));
  }
  next(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.waiters.push(resolve);
      this.exited.then(() => reject(new Error('backbone process exited')), reject);
    });
  }
  async status(): Promise<CpuMem> {
    const p = this.next();
    this.proc.stdin!.write('status\n');
    return JSON.parse(await p) as CpuMem;
  }
}

/** Starts bench/fleet-backbone.ts; resolves with its readiness line. */
export async function startBenchBackbone(dataDir: string, extra: string[] = [], nodeArgs: string[] = []): Promise<{ bb: Backbone; ready: { registry: string; beacon: string; pid: number; restoreMs: number; nodes: number } }> {
  const proc = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(here, 'fleet-backbone.ts'), '--data', dataDir, ...extra], { stdio: ['pipe', 'pipe', 'inherit'] });
  const bb = new Backbone(proc);
  const ready = JSON.parse(await bb.next()) as { registry: string; beacon: string; pid: number; restoreMs: number; nodes: number };
  return { bb, ready };
}

class Worker {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly proc: ChildProcess;
  constructor() {
    this.proc = fork(path.join(here, 'fleet-worker.ts'), [], { execArgv: ['--expose-gc', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.proc.on('message', (m: FleetReply) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.ok) p?.resolve(m.data);
      else p?.reject(new Error(`worker: ${m.error}`));
    });
    this.proc.once('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`worker exited (${code})`));
      this.pending.clear();
    });
  }
  call<T>(req: FleetRequest): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ id, req });
    });
  }
}

function merge(stats: WorkerStats[]): Record<string, Summary> {
  const keys = new Set(stats.flatMap((s) => Object.keys(s.latencies)));
  return Object.fromEntries([...keys].map((k) => [k, percentileSummary(stats.flatMap((s) => s.latencies[k]?.sample ?? []))]));
}

export async function runFleet(o: FleetOptions): Promise<Fleet> {
  const log = o.log ?? (() => {});
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-fleet-'));
  const prefix = `fleet-${Math.random().toString(36).slice(2, 6)}`;
  const { bb, ready } = await startBenchBackbone(path.join(dir, 'backbone'));
  const workers = Array.from({ length: o.workers }, () => new Worker());
  const client = new RegistryClient({ address: ready.registry, timeoutMs: 30_000 });
  const stop = async (): Promise<void> => {
    client.close();
    await Promise.allSettled(workers.map((w) => w.call({ op: 'stop' })));
    for (const w of workers) w.proc.disconnect();
    await Promise.allSettled(workers.map((w) => (w.proc.exitCode === null ? new Promise((r) => w.proc.once('exit', r)) : undefined)));
    bb.proc.stdin!.end();
    await bb.exited;
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const phases: PhaseStats[] = [];
    const cpuStart = await bb.status();
    let phaseCpu = cpuStart;
    let phaseT = performance.now();
    const endPhase = async (name: string): Promise<void> => {
      const ms = performance.now() - phaseT;
      const s = await Promise.all(workers.map((w) => w.call<WorkerStats>({ op: 'stats', reset: true })));
      const c = await bb.status();
      phases.push({ name, ms, latencies: merge(s), backboneCpuMs: (c.cpu.user + c.cpu.system - phaseCpu.cpu.user - phaseCpu.cpu.system) / 1000 });
      log(`phase ${name}: ${Math.round(ms)} ms`);
      phaseCpu = c;
      phaseT = performance.now();
    };

    // ---- up
    const t0 = performance.now();
    const per = Math.ceil(o.nodes / o.workers);
    const started = await Promise.all(
      workers.map((w, k) =>
        w.call<{ index: number; nodeId: number; hostname: string }[]>({
          op: 'start',
          registry: ready.registry,
          beacon: ready.beacon,
          first: k * per,
          count: Math.max(0, Math.min(per, o.nodes - k * per)),
          nodes: o.nodes,
          coordinators: o.coordinators,
          prefix,
          heartbeatMs: o.heartbeatMs,
          dir: path.join(dir, `w${k}`),
          concurrency: o.concurrency,
        }),
      ),
    );
    const upMs = performance.now() - t0;
    log(`${o.nodes} nodes up in ${Math.round(upMs)} ms`);
    const all = started.flat().sort((a, b) => a.index - b.index);
    const nodeIds = all.map((n) => n.nodeId);
    // findable: every node by tag search (public nodes) and by hostname
    let foundByTag = 0;
    for (;;) {
      foundByTag = 0;
      for (const t of ['coordinator', ...SKILLS]) foundByTag += (await client.findNodes({ tags: [t], hostnamePrefix: `${prefix}-`, limit: 1000 })).nodes.length;
      if (foundByTag >= o.nodes) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    let resolvedByHostname = 0;
    for (const n of all) if ((await client.resolveHostname(n.hostname)).node_id === n.nodeId) resolvedByHostname++;
    const findableMs = performance.now() - t0;
    await endPhase('up');

    // ---- groups
    const names = Array.from({ length: o.groups }, (_, g) => `${prefix}-g${g}`);
    const groupIds = await workers[0]!.call<number[]>({ op: 'create-groups', names });
    const joined = (await Promise.all(workers.map((w) => w.call<number>({ op: 'join', groupIds, creatorId: nodeIds[0]! })))).reduce((a, b) => a + b, 0);
    const members = async (): Promise<number> => {
      let m = 0;
      for (const g of groupIds) m += (await client.listNodes(g)).nodes.length;
      return m;
    };
    const membersAfterJoin = await members();
    const left = (await Promise.all(workers.map((w) => w.call<number>({ op: 'leave', groupIds, every: o.leaveEvery })))).reduce((a, b) => a + b, 0);
    const membersAfterLeave = await members();
    await endPhase('groups');

    // ---- lookups
    await Promise.all(workers.map((w) => w.call({ op: 'lookups', perNode: o.lookupsPerNode, nodeIds })));
    await endPhase('lookups');

    // ---- tasks
    const outcomes = await Promise.all(workers.map((w) => w.call<TaskOutcome>({ op: 'tasks', perCoordinator: o.tasksPerCoordinator, waitMs: o.taskWaitMs })));
    const tasks = outcomes.reduce<TaskOutcome>(
      (a, b) => ({
        found: a.found + b.found,
        pinged: a.pinged + b.pinged,
        pingFailed: a.pingFailed + b.pingFailed,
        submitted: a.submitted + b.submitted,
        accepted: a.accepted + b.accepted,
        completed: a.completed + b.completed,
        failed: a.failed + b.failed,
      }),
      { found: 0, pinged: 0, pingFailed: 0, submitted: 0, accepted: 0, completed: 0, failed: 0 },
    );
    await endPhase('tasks');

    // ---- steady
    await new Promise((r) => setTimeout(r, o.holdMs));
    for (;;) {
      const s = await Promise.all(workers.map((w) => w.call<WorkerStats>({ op: 'stats' })));
      if (s.reduce((a, x) => a + (x.latencies['registry.heartbeat']?.n ?? 0), 0) >= (o.minHeartbeats ?? 0)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await endPhase('steady');

    const final = await Promise.all(workers.map((w) => w.call<WorkerStats>({ op: 'stats' })));
    const end = await bb.status();
    const errors: Record<string, number> = {};
    for (const s of final) for (const [k, v] of Object.entries(s.errors)) errors[k] = (errors[k] ?? 0) + v;
    const report: FleetReport = {
      nodes: o.nodes,
      workers: o.workers,
      upMs,
      findableMs,
      foundByTag,
      resolvedByHostname,
      groups: { created: groupIds.length, joined, left, membersAfterJoin, membersAfterLeave },
      tasks,
      tasksServed: final.reduce((a, s) => a + s.tasksServed, 0),
      phases,
      backbone: {
        rss: end.mem.rss,
        heapUsed: end.mem.heapUsed,
        cpuMsTotal: (end.cpu.user + end.cpu.system - cpuStart.cpu.user - cpuStart.cpu.system) / 1000,
        nodes: end.status.nodes,
        online: end.status.online,
        connections: end.status.connections,
        errors: end.status.errors,
      },
      workerRssPerNode: final.reduce((a, s) => a + (s.rss - s.rssBefore), 0) / o.nodes,
      workerHeapPerNode: final.reduce((a, s) => a + (s.heapUsed - s.heapBefore), 0) / o.nodes,
      workerRssTotalPerNode: final.reduce((a, s) => a + s.rss, 0) / o.nodes,
      errors,
      registry: ready.registry,
      beacon: ready.beacon,
    };
    return { report, stop };
  } catch (e) {
    await stop().catch(() => {});
    throw e;
  }
}
