/**
 * The node's built-in services (services.md): trust handshake (444) with trust.json and trust
 * enforcement, echo (7), data exchange (1001), event stream (1002), task submit (1003).
 *
 *   const services = await startServices(node, { dataDir: '~/.pilot' });   // after node.start()
 *   services.trust.request(peer, 'why'); services.tasks.submit(peer, 'do x'); await services.stop();
 *
 * State under `dataDir`: trust.json, received/, inbox/, tasks/{received,submitted,results}/.
 *
 * Enforcement (`trust.policy`, default 'enforce'): installed as `node.admission`. A PRIVATE node
 * accepts a stream only from a peer it trusts or shares a non-zero group with — on every port
 * (echo included) except 444, which stays open so trust requests can arrive; a node we submitted a
 * task to may also reach port 1003 (for its status updates and results). A PUBLIC node accepts
 * everyone. Control pings (protocol 0x03, not streams) are always answered. 'open' = the reference's
 * behaviour (no checks). Refused streams are reset; clients here report "connection refused".
 */
import path from 'node:path';
import { PORTS } from '../../../shared/address';
import { PilotError } from '../../../shared/errors';
import type { PilotNode } from '../node';
import { DataExchangeService } from './data-exchange';
import { EchoService } from './echo';
import { EventStreamService, type EventStreamOptions } from './event-stream';
import { TaskService, type TaskOptions } from './tasks';
import { TrustService, type TrustOptions } from './trust';
import { TrustStore } from './trust-store';

export interface ServicesOptions {
  /** The ~/.pilot-like state directory. */
  dataDir: string;
  trust?: TrustOptions;
  tasks?: TaskOptions;
  events?: EventStreamOptions;
  /** Optional services to leave off (the reference's -no-echo, -no-dataexchange, -no-eventstream; plus tasks). */
  disable?: { echo?: boolean; dataExchange?: boolean; eventStream?: boolean; taskSubmit?: boolean };
}

export interface Services {
  readonly dataDir: string;
  readonly inboxDir: string;
  readonly receivedDir: string;
  readonly tasksDir: string;
  readonly trustFile: string;
  readonly trust: TrustService;
  readonly echo: EchoService | undefined;
  readonly data: DataExchangeService | undefined;
  readonly events: EventStreamService | undefined;
  readonly tasks: TaskService | undefined;
  /** Ports this module listens on. */
  readonly ports: number[];
  /** Waits for background work (sends, registry mirrors, file writes). */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

export async function startServices(node: PilotNode, opts: ServicesOptions): Promise<Services> {
  if (!node.nodeId) throw new PilotError('invalid_state', 'startServices: start the node first');
  const dataDir = opts.dataDir;
  const inboxDir = path.join(dataDir, 'inbox');
  const receivedDir = path.join(dataDir, 'received');
  const tasksDir = path.join(dataDir, 'tasks');
  const trustFile = path.join(dataDir, 'trust.json');
  const log = node.log.child({ component: 'services' });
  const off = opts.disable ?? {};

  const store = await TrustStore.load(trustFile, log.child({ service: 'trust' }));
  const trust = new TrustService(node, store, opts.trust ?? {}, log.child({ service: 'trust' }));
  const echo = off.echo ? undefined : new EchoService(node, log.child({ service: 'echo' }));
  const data = off.dataExchange ? undefined : new DataExchangeService(node, inboxDir, receivedDir, log.child({ service: 'dataexchange' }));
  const events = off.eventStream ? undefined : new EventStreamService(node, log.child({ service: 'eventstream' }), opts.events);
  const tasks = off.taskSubmit ? undefined : new TaskService(node, tasksDir, opts.tasks ?? {}, log.child({ service: 'tasks' }));

  const previousAdmission = node.admission;
  const started: { stop(): unknown }[] = [];
  try {
    await trust.start();
    started.push(trust);
    if (tasks) {
      await tasks.start();
      started.push(tasks);
      trust.addGrant((peer, port) => port === PORTS.taskSubmit && tasks.expectsFrom(peer));
    }
    for (const s of [echo, data, events]) {
      if (!s) continue;
      s.start();
      started.push(s);
    }
  } catch (e) {
    for (const s of started.reverse()) await s.stop();
    throw e;
  }
  node.admission = (peer, port) => trust.admits(peer, port);
  log.info('services started', { policy: trust.policy, public: node.isPublic, dir: dataDir });

  const ports = [PORTS.trust, ...(echo ? [PORTS.echo] : []), ...(data ? [PORTS.dataExchange] : []), ...(events ? [PORTS.eventStream] : []), ...(tasks ? [PORTS.taskSubmit] : [])];
  let stopped = false;
  return {
    dataDir,
    inboxDir,
    receivedDir,
    tasksDir,
    trustFile,
    trust,
    echo,
    data,
    events,
    tasks,
    ports,
    async settled() {
      await Promise.all([trust.settled(), tasks?.settled()]);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      node.admission = previousAdmission;
      for (const s of started.reverse()) await s.stop();
      log.info('services stopped');
    },
  };
}

export { TrustService, type TrustOptions, type TrustPolicy, type TrustChange, type TrustActivity, type HandshakeResult, type PendingJson, type TrustedJson } from './trust';
export { TrustStore, type TrustedPeer, type PendingRequest } from './trust-store';
export { EchoService, echo } from './echo';
export { DataExchangeService, sendMessage, sendFile, sendFrames, type InboxMessage, type MessageEvent, type FileEvent } from './data-exchange';
export { EventStreamService, TopicBroker, topicMatches, subscribe, publish, type Subscription } from './event-stream';
export {
  TaskService,
  bestMember,
  taskReward,
  newTaskId,
  TASK_STATUSES,
  type TaskFile,
  type TaskOptions,
  type TaskResult,
  type SubmitReport,
  type BestMember,
  type TaskListEntry,
} from './tasks';
export type { Target } from './common';
