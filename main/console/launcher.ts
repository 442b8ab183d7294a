/**
 * What the console runs behind its window (Electron) or its web page (`pilotctl console`):
 *  - attach to the local daemon when one answers on the IPC socket (and say so), else
 *  - run a full node in this process (a daemon with a UI: pilotctl can talk to it too), and
 *  - with no backbone configured, start an embedded backbone and, unless told not to, a small demo
 *    fleet of REAL node processes: specialist-papers (#citations), specialist-fx (#fx-rates) and
 *    specialist-news (#news), with the console's node as the coordinator, in groups research and
 *    trading — so a newcomer sees a live fleet with no set-up; each specialist runs its agent and
 *    the coordinator a research workload (demo.ts), so tasks and traces flow without a click.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { PilotError } from '../../shared/errors';
import { isEventName, type ConsoleEvents, type EventEnvelope } from '../../shared/contract';
import { Emitter } from '../../shared/emitter';
import { startBackbone, type Backbone } from '../backbone';
import { IpcClient, socketAnswers } from '../daemon/client';
import { startDaemon, type RunningDaemon } from '../daemon/daemon';
import { pilotPaths, readConfig, resolveSocketPath } from '../daemon/paths';
import type { Logger } from '../util/log';
import type { ConsoleService, ForwardingService } from '../api/service';
import { ROLE_OF_TAG } from './demo-jobs';
import { DemoWorkload, runSpecialist, withDemo, type DemoTimings } from './demo';

const PILOTCTL = fileURLToPath(new URL('../../bin/pilotctl.mjs', import.meta.url));

export interface LaunchOptions {
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** Start the demo fleet when running an embedded backbone (default true). */
  demo?: boolean;
  registry?: string;
  beacon?: string;
  hostname?: string;
  /** Attach to a running daemon instead of starting a node (default true). */
  attach?: boolean;
  /** The demo agents' pace (tests make it quicker). */
  demoTimings?: DemoTimings;
}

export interface LaunchedConsole {
  service: ConsoleService;
  mode: 'attached' | 'embedded-backbone' | 'node';
  /** One line for the user: what the console is showing. */
  description: string;
  demo: { hostname: string; pid: number }[];
  stop(): Promise<void>;
}

export const DEMO_FLEET = [
  { hostname: 'specialist-papers', tags: ['citations'], groups: ['research'] },
  { hostname: 'specialist-fx', tags: ['fx-rates'], groups: ['trading'] },
  { hostname: 'specialist-news', tags: ['news'], groups: ['research', 'trading'] },
] as const;

/**
 * A ConsoleService over a running daemon's IPC socket. It forwards requests unparsed: the daemon's
 * IPC extension is the boundary that acts on them, and checks each one once (main/api/dispatch.ts).
 */
export async function attachToDaemon(socketPath: string): Promise<{ service: ForwardingService; client: IpcClient }> {
  const client = await IpcClient.connect(socketPath);
  await client.subscribe();
  const events = new Emitter<ConsoleEvents>();
  client.on('event', (env: EventEnvelope) => {
    // The daemon sends only contract events (it subscribes by name); the payload is its own.
    if (isEventName(env.event)) events.emit(env.event, env.data as never);
  });
  return {
    client,
    service: {
      call: (method, args) => client.call(method, args),
      forward: (method, params) => client.call(method, params),
      on: (listener) => events.onAny(listener),
    },
  };
}

/** The polo score the demo's submitters start with (a point per task; workers earn a few per task). */
const DEMO_POLO_BUDGET = 1_000_000_000;

interface DemoProc {
  hostname: string;
  child: ChildProcess;
  socket: string;
}

function startDemoNode(dir: string, spec: (typeof DEMO_FLEET)[number], registry: string, beacon: string, env: NodeJS.ProcessEnv): Promise<DemoProc> {
  const home = path.join(dir, spec.hostname);
  const socket = path.join(dir, `${spec.hostname}.sock`);
  // Inside Electron, process.execPath is the Electron binary: run it as plain Node for the daemons.
  const childEnv: NodeJS.ProcessEnv = { ...env, PILOT_HOME: home, PILOT_SOCKET: socket, ...(process.versions['electron'] ? { ELECTRON_RUN_AS_NODE: '1' } : {}) };
  const child = spawn(
    process.execPath,
    [PILOTCTL, '--json', 'daemon', 'start', '--foreground', '--registry', registry, '--beacon', beacon, '--hostname', spec.hostname, '--tags', spec.tags.join(','), '--public', '--listen', '127.0.0.1:0'],
    { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const logFile = fs.createWriteStream(path.join(dir, `${spec.hostname}.log`));
  child.stderr!.pipe(logFile);
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new PilotError('timeout', `demo node ${spec.hostname} did not become ready`, `see ${path.join(dir, spec.hostname + '.log')}`)), 20_000);
    rl.once('line', () => {
      clearTimeout(timer);
      resolve({ hostname: spec.hostname, child, socket });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new PilotError('internal', `demo node ${spec.hostname} exited (${code})`, `see ${path.join(dir, spec.hostname + '.log')}`));
    });
  });
}

export async function launchConsole(o: LaunchOptions): Promise<LaunchedConsole> {
  const paths = pilotPaths(o.env);
  const socketPath = resolveSocketPath(o.env);
  if (o.attach !== false && (await socketAnswers(socketPath))) {
    const { service, client } = await attachToDaemon(socketPath);
    return {
      service,
      mode: 'attached',
      description: `attached to the running daemon at ${socketPath}`,
      demo: [],
      stop: async () => client.close(),
    };
  }

  let cfg: Record<string, unknown>;
  try {
    cfg = readConfig(paths) as Record<string, unknown>;
  } catch {
    cfg = {};
  }
  const configured = o.registry ?? o.env['PILOT_REGISTRY'] ?? (typeof cfg['registry'] === 'string' ? cfg['registry'] : undefined);
  let backbone: Backbone | undefined;
  let registry = configured;
  let beacon = o.beacon ?? o.env['PILOT_BEACON'] ?? (typeof cfg['beacon'] === 'string' ? cfg['beacon'] : undefined);
  let netcheck: string | undefined;
  if (!registry) {
    const dataDir = path.join(paths.home, 'console-backbone');
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    backbone = await startBackbone({ registry: '127.0.0.1:0', beacon: '127.0.0.1:0', dataDir, logger: o.log.child({ component: 'embedded-backbone' }) });
    registry = `127.0.0.1:${backbone.registryAddress.port}`;
    beacon = `127.0.0.1:${backbone.beaconAddress.port}`;
    if (backbone.netcheckAddress) netcheck = `127.0.0.1:${backbone.netcheckAddress.port}`;
  }
  beacon ??= `${registry.split(':')[0]}:9001`;

  const demo: DemoProc[] = [];
  let daemon: RunningDaemon | undefined;
  let workload: DemoWorkload | undefined;
  const agents: { client: IpcClient; loop: Promise<void> }[] = [];
  const stop = async (): Promise<void> => {
    await workload?.stop();
    for (const a of agents) a.client.close();
    await Promise.all(agents.map((a) => a.loop));
    await daemon?.stop();
    for (const d of demo) if (d.child.exitCode === null) d.child.kill('SIGTERM');
    await Promise.all(demo.map((d) => (d.child.exitCode === null ? new Promise((r) => d.child.once('exit', r)) : undefined)));
    await backbone?.close();
  };
  try {
    daemon = await startDaemon({
      paths,
      socketPath,
      registry,
      beacon,
      ...(netcheck ? { netcheck } : {}),
      hostname: o.hostname ?? (typeof cfg['hostname'] === 'string' ? cfg['hostname'] : 'coordinator'),
      public: true,
      identityPath: paths.identity,
      probePeersMs: 5000,
      logWrite: (line) => fs.appendFileSync(path.join(paths.home, 'console.log'), line),
    });
    if (backbone && o.demo !== false) {
      const dir = path.join(paths.home, 'demo-fleet');
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const started = await Promise.allSettled(DEMO_FLEET.map((spec) => startDemoNode(dir, spec, registry, beacon, o.env)));
      for (const s of started) if (s.status === 'fulfilled') demo.push(s.value);
      const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
      // Groups: the coordinator creates them (and so is a member of both); specialists join.
      const svc = daemon.service;
      for (const g of ['research', 'trading']) await svc.call('groups.create', { name: g }).catch(() => svc.call('groups.join', { name: g }).catch(() => undefined));
      const submitters = [daemon.node.nodeId];
      for (const d of demo) {
        const spec = DEMO_FLEET.find((s) => s.hostname === d.hostname)!;
        const c = await IpcClient.connect(d.socket);
        try {
          for (const g of spec.groups) await c.call('groups.join', { name: g }).catch(() => undefined);
          // The papers specialist submits sub-tasks too: it gets the demo's budget (below).
          if (spec.tags.some((t) => ROLE_OF_TAG[t] === 'papers')) submitters.push((await c.call('node.info', {})).nodeId);
        } finally {
          c.close();
        }
      }
      // A worker refuses tasks from a submitter whose polo score is below its own, and each task
      // moves a point from submitter to worker: the demo's submitters (the coordinator, and papers
      // for its sub-tasks) start with a budget on the embedded backbone that outlasts any session.
      // Each submitter stays above whom it submits to: the coordinator above papers above the rest.
      for (const [i, id] of submitters.entries()) await daemon.node.registry.setPoloScore(id, DEMO_POLO_BUDGET * (submitters.length - i));
      // The agents: one per specialist over its node's IPC socket, and the coordinator's workload.
      workload = new DemoWorkload(svc, o.log.child({ component: 'demo' }), o.demoTimings);
      for (const d of demo) {
        const spec = DEMO_FLEET.find((s) => s.hostname === d.hostname)!;
        const role = ROLE_OF_TAG[spec.tags[0]];
        if (!role) continue;
        const client = await IpcClient.connect(d.socket);
        const loop = runSpecialist(role, client, workload.signal, o.log.child({ component: 'demo', agent: d.hostname }), o.demoTimings).catch((e: unknown) =>
          o.log.error('demo agent stopped', { agent: d.hostname, error: e instanceof Error ? e.message : String(e) }),
        );
        agents.push({ client, loop });
      }
      workload.start();
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const what = backbone ? `an embedded backbone (registry ${registry})` : `the backbone at ${registry}`;
  return {
    service: workload ? withDemo(daemon.service, workload) : daemon.service,
    mode: backbone ? 'embedded-backbone' : 'node',
    description: `node ${daemon.node.hostname || ''} ${String(daemon.node.nodeId)} on ${what}${demo.length ? ` with a demo fleet of ${demo.length} nodes` : ''}; pilotctl talks to it at ${socketPath}`,
    demo: demo.map((d) => ({ hostname: d.hostname, pid: d.child.pid ?? 0 })),
    stop,
  };
}
