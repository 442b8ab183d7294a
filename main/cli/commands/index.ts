import type { CommandContext, CommandResult } from '../command';
import { contextCommand } from './context';

export type CommandImpl = (ctx: CommandContext) => Promise<CommandResult>;

/**
 * Loads a command module only when its command runs: pilotctl starts through tsx, and importing
 * every module (node, backbone, crypto) for a one-line command would cost most of its run time.
 */
function lazy<M>(load: () => Promise<M>, pick: (m: M) => CommandImpl): CommandImpl {
  return async (ctx) => pick(await load())(ctx);
}
const daemon = (): Promise<typeof import('./daemon')> => import('./daemon');
const backbone = (): Promise<typeof import('./backbone')> => import('./backbone');
const comm = (): Promise<typeof import('./communication')> => import('./communication');
const pingMod = (): Promise<typeof import('./ping')> => import('./ping');
const cfg = (): Promise<typeof import('./config')> => import('./config');
const diag = (): Promise<typeof import('./diagnostics')> => import('./diagnostics');
const disc = (): Promise<typeof import('./discovery')> => import('./discovery');
const groups = (): Promise<typeof import('./groups')> => import('./groups');
const tasks = (): Promise<typeof import('./tasks')> => import('./tasks');
const trust = (): Promise<typeof import('./trust')> => import('./trust');
const svc = (): Promise<typeof import('./services')> => import('./services');
const obs = (): Promise<typeof import('./observe')> => import('./observe');
const gateway = (): Promise<typeof import('./gateway')> => import('./gateway');

/** Command name → implementation. Commands absent here are listed by --help as "not built yet". */
export const IMPLEMENTATIONS: Record<string, CommandImpl | undefined> = {
  context: contextCommand,
  'daemon start': lazy(daemon, (m) => m.daemonStart),
  'daemon stop': lazy(daemon, (m) => m.daemonStop),
  'daemon status': lazy(daemon, (m) => m.daemonStatus),
  '_daemon-run': lazy(daemon, (m) => m.daemonRun),
  'backbone start': lazy(backbone, (m) => m.backboneStart),
  'backbone status': lazy(backbone, (m) => m.backboneStatus),
  init: lazy(cfg, (m) => m.init),
  config: lazy(cfg, (m) => m.config),
  info: lazy(disc, (m) => m.info),
  find: lazy(disc, (m) => m.find),
  lookup: lazy(disc, (m) => m.lookup),
  'set-hostname': lazy(disc, (m) => m.setHostname),
  'clear-hostname': lazy(disc, (m) => m.clearHostname),
  'set-public': lazy(disc, (m) => m.setPublic),
  'set-private': lazy(disc, (m) => m.setPrivate),
  'set-tags': lazy(disc, (m) => m.setTags),
  'clear-tags': lazy(disc, (m) => m.clearTags),
  peers: lazy(disc, (m) => m.peers),
  deregister: lazy(disc, (m) => m.deregister),
  'enable-tasks': lazy(disc, (m) => m.enableTasks),
  'disable-tasks': lazy(disc, (m) => m.disableTasks),
  'set-webhook': lazy(disc, (m) => m.setWebhook),
  'clear-webhook': lazy(disc, (m) => m.clearWebhook),
  ping: lazy(pingMod, (m) => m.ping),
  traceroute: lazy(comm, (m) => m.traceroute),
  bench: lazy(comm, (m) => m.bench),
  connect: lazy(comm, (m) => m.connect),
  send: lazy(comm, (m) => m.send),
  recv: lazy(comm, (m) => m.recv),
  listen: lazy(comm, (m) => m.listen),
  broadcast: lazy(comm, (m) => m.broadcast),
  'group create': lazy(groups, (m) => m.groupCreate),
  'group join': lazy(groups, (m) => m.groupJoin),
  'group leave': lazy(groups, (m) => m.groupLeave),
  'group list': lazy(groups, (m) => m.groupList),
  'group members': lazy(groups, (m) => m.groupMembers),
  'task submit': lazy(tasks, (m) => m.taskSubmit),
  'task list': lazy(tasks, (m) => m.taskList),
  'task queue': lazy(tasks, (m) => m.taskQueue),
  'task accept': lazy(tasks, (m) => m.taskAccept),
  'task decline': lazy(tasks, (m) => m.taskDecline),
  'task execute': lazy(tasks, (m) => m.taskExecute),
  'task send-results': lazy(tasks, (m) => m.taskSendResults),
  handshake: lazy(trust, (m) => m.handshake),
  approve: lazy(trust, (m) => m.approve),
  reject: lazy(trust, (m) => m.reject),
  untrust: lazy(trust, (m) => m.untrust),
  pending: lazy(trust, (m) => m.pending),
  trust: lazy(trust, (m) => m.trust),
  connections: lazy(diag, (m) => m.connections),
  netcheck: lazy(diag, (m) => m.netcheck),
  console: lazy(() => import('./console'), (m) => m.consoleCommand),
  disconnect: lazy(diag, (m) => m.disconnect),
  'send-message': lazy(svc, (m) => m.sendMessage),
  'send-file': lazy(svc, (m) => m.sendFile),
  publish: lazy(svc, (m) => m.publish),
  subscribe: lazy(svc, (m) => m.subscribe),
  received: lazy(svc, (m) => m.received),
  inbox: lazy(svc, (m) => m.inbox),
  trace: lazy(obs, (m) => m.trace),
  'trace export': lazy(obs, (m) => m.traceExport),
  logs: lazy(obs, (m) => m.logs),
  metrics: lazy(() => import('./metrics'), (m) => m.metrics),
  'gateway start': lazy(gateway, (m) => m.gatewayStart),
  'gateway stop': lazy(gateway, (m) => m.gatewayStop),
  'gateway map': lazy(gateway, (m) => m.gatewayMap),
  'gateway unmap': lazy(gateway, (m) => m.gatewayUnmap),
  'gateway list': lazy(gateway, (m) => m.gatewayList),
};
