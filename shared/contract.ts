/**
 * The one console contract (STYLE.md §3): every method a face can call on a node — the Electron
 * preload, the web console's WebSocket bridge, and pilotctl through the IPC socket's extension
 * command — with its argument and result types, plus the events a node pushes. Typed once here;
 * main-side handlers validate every payload against `methodSchemas` before acting on it.
 */
import { z } from 'zod';
import { fleetMethodSchemas, type FleetMethodResults } from './contract-fleet';

export type PathKind = 'pending' | 'direct' | 'punched' | 'relay';
export type TrustState = 'none' | 'pending_in' | 'pending_out' | 'trusted';
export type LogLevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export interface NodeInfoView {
  nodeId: number;
  address: string;
  hostname: string;
  tags: string[];
  groups: string[];
  public: boolean;
  uptimeSecs: number;
  encrypt: boolean;
  cryptoBackend: string;
  publicKey: string;
  fingerprint: string;
  tunnelEndpoint: string;
  publicEndpoint?: string;
  registry: string;
  beacon: string;
  registryConnected: boolean;
  peers: number;
  connections: number;
  ports: number;
  traffic: { bytesSent: number; bytesRecv: number; pktsSent: number; pktsRecv: number };
  drops: Record<string, number>;
}

export interface NetcheckView {
  tunnelLocal: string;
  beacon: string;
  netcheckServer?: string;
  publicEndpoint?: string;
  publicEndpointAlt?: string;
  portPreserved?: boolean;
  mapping: 'endpoint-independent' | 'endpoint-dependent' | 'unknown';
  natType: 'none' | 'port-preserving' | 'cone' | 'symmetric' | 'unknown';
  hint: string;
}

/** A peer's tunnel traffic counters: the node's own (main/node/tunnel-types.ts) and every view of them. */
export interface PeerTrafficCounters {
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  framesOut: number;
  keyExchangesSent: number;
  keyExchangesReceived: number;
  relayedIn: number;
  relayedOut: number;
}

export interface PeerCountersView extends PeerTrafficCounters {
  retransmits: number;
  drops: Record<string, number>;
}

export interface PeerView {
  nodeId: number;
  address: string;
  hostname?: string;
  tags: string[];
  groups: string[];
  path: PathKind;
  endpoint?: string;
  rttMs?: number;
  rttHistory: number[];
  lastSeenMs?: number;
  trust: TrustState;
  encrypted: boolean;
  authenticated: boolean;
}

export interface ConnectionView {
  id: number;
  localPort: number;
  remoteAddr: string;
  remotePort: number;
  state: string;
  bytesSent: number;
  bytesRecv: number;
  retransmits: number;
  srttMs: number;
  cwnd: number;
  inFlight: number;
}

export interface LogLine {
  t: string;
  level: LogLevelName;
  msg: string;
  fields: Record<string, unknown>;
}

export interface PeerDetail extends PeerView {
  publicKey?: string;
  fingerprint?: string;
  pathChanges: number;
  counters: PeerCountersView;
  connections: ConnectionView[];
  cryptoBackend: string;
  logs: LogLine[];
}

export interface PingReply {
  seq: number;
  rttMs?: number;
  path?: PathKind;
  bytes?: number;
  error?: string;
}

export interface PingReport {
  target: string;
  address: string;
  nodeId: number;
  replies: PingReply[];
  stats: { sent: number; received: number; minMs?: number; medianMs?: number; p99Ms?: number; maxMs?: number };
}

export interface FoundNodeView {
  nodeId: number;
  address: string;
  hostname?: string;
  tags: string[];
  publicKey: string;
  lastSeen?: string;
  online: boolean;
  public: boolean;
  networks: number[];
}

export interface GroupView {
  id: number;
  name: string;
  joinRule: string;
  members: number;
  online: number;
  joined: boolean;
}

export interface GroupMemberView {
  nodeId: number;
  address: string;
  hostname?: string;
  tags: string[];
  online: boolean;
  lastSeen?: string;
}

export interface TrustRequestView {
  nodeId: number;
  justification: string;
  receivedAt: number;
  publicKey?: string;
}

export interface TrustedPeerView {
  nodeId: number;
  publicKey?: string;
  approvedAt: number;
  mutual: boolean;
  network: number;
}

export interface SpanView {
  traceId: string;
  spanId: string;
  parentId?: string;
  name: string;
  node: string;
  startMs: number;
  durationMs: number;
  status: 'ok' | 'error';
  attrs: Record<string, string | number | boolean>;
  /** OTel span kind (absent in spans from older nodes: internal). */
  kind?: 'internal' | 'server' | 'client' | 'producer' | 'consumer';
  /** The parent span is on another node (or in the agent's own code): it came in a traceparent. */
  remoteParent?: boolean;
  /** The recording node's address text (`node` is its hostname when it has one). */
  nodeAddr?: string;
  /** Timestamped events inside the span (e.g. each punch attempt). */
  events?: { name: string; timeMs: number; attrs?: Record<string, string | number | boolean> }[];
  /** The error's message when status is error. */
  statusMessage?: string;
}

/** One node of a collected trace (a lane of the waterfall). */
export interface TraceNodeView {
  address: string;
  nodeId: number;
  hostname?: string;
  /** This node (the collector). */
  self: boolean;
  /** The node's clock minus ours (ms), estimated from a control ping RTT; 0 for self. */
  offsetMs: number;
  rttMs?: number;
  spans: number;
  /** The node held more spans of the trace than one reply carries. */
  truncated?: boolean;
  /** Why this node gave no spans (refused, unreachable). */
  error?: string;
}

/** A span of a collected trace: its lane (node address) and its start on the collector's clock. */
export interface CollectedSpan extends SpanView {
  lane: string;
  adjustedStartMs: number;
}

export interface CollectedTrace {
  traceId: string;
  nodes: TraceNodeView[];
  /** Sorted by adjustedStartMs. */
  spans: CollectedSpan[];
}

export interface TaskView {
  taskId: string;
  description: string;
  status: string;
  from: string;
  to: string;
  createdAt: string;
  category: 'received' | 'submitted';
  /** When the task reached COMPLETED (the worker's clock, as it reported it; whole seconds). */
  completedAt?: string;
  /**
   * Submit to results (submitted) or arrival to results sent (received), in ms, as this node
   * measured it — known for tasks that ran while the node did.
   */
  durationMs?: number;
  /** The task's trace (when it carried one). */
  traceId?: string;
  /**
   * W3C traceparent to continue the task's trace from: for a received task, the receiving node's
   * span (an agent working on the task exports it as TRACEPARENT); for a submitted one, the submit span.
   */
  traceparent?: string;
}

/** A submitted task's results as they arrived (text results only carry `text`). */
export interface TaskResultView {
  taskId: string;
  bytes: number;
  text?: string;
  filename?: string;
}

/** The demo workload (the coordinator's research loop over the demo fleet; main/console/demo). */
export interface DemoView {
  /** A demo workload runs in this console (an embedded backbone with the demo fleet). */
  available: boolean;
  paused: boolean;
  submitted: number;
  completed: number;
  failed: number;
  lastError?: string;
}

export interface BroadcastReport {
  group: string;
  sent: number;
  members: number;
}

export interface TaskSubmitReport {
  target: string;
  address: string;
  taskId: string;
  status: number;
  message: string;
  accepted: boolean;
  chosenBy?: string;
  traceId?: string;
  /** The submit span, as a W3C traceparent. */
  traceparent?: string;
}

// ---- methods ----------------------------------------------------------------------------------

const target = z.string().min(1).max(255);
/** A W3C traceparent from the caller (pilotctl: the TRACEPARENT environment variable); an invalid one is ignored. */
const traceparent = z.string().max(512).optional();
const nodeId = z.number().int().min(1).max(0xffffffff);
const groupName = z.string().min(1).max(63);

export const methodSchemas = {
  ...fleetMethodSchemas,
  'node.info': z.object({}).strict(),
  'node.setHostname': z.object({ hostname: z.string().max(63) }).strict(),
  'node.netcheck': z.object({}).strict(),
  'node.setTags': z.object({ tags: z.array(z.string().max(33)).max(3) }).strict(),
  'node.setVisibility': z.object({ public: z.boolean() }).strict(),
  'peers.list': z.object({}).strict(),
  'peers.inspect': z.object({ nodeId }).strict(),
  'peers.ping': z.object({ target, count: z.number().int().min(1).max(1000).optional(), timeoutMs: z.number().int().min(1).max(600_000).optional(), intervalMs: z.number().int().min(10).max(60_000).optional(), traceparent }).strict(),
  'peers.resolve': z.object({ target }).strict(),
  'find.nodes': z.object({ tags: z.array(z.string().max(33)).max(10).optional(), group: groupName.optional(), hostnamePrefix: z.string().max(63).optional() }).strict(),
  'groups.list': z.object({}).strict(),
  'groups.create': z.object({ name: groupName, joinRule: z.enum(['open', 'token', 'invite']).optional(), token: z.string().max(256).optional() }).strict(),
  'groups.join': z.object({ name: groupName, token: z.string().max(256).optional(), inviter: nodeId.optional() }).strict(),
  'groups.leave': z.object({ name: groupName }).strict(),
  'groups.members': z.object({ name: groupName }).strict(),
  'groups.broadcast': z.object({ name: groupName, message: z.string().max(60_000), port: z.number().int().min(0).max(65535).optional() }).strict(),
  'trust.pending': z.object({}).strict(),
  'trust.list': z.object({}).strict(),
  'trust.request': z.object({ target, justification: z.string().max(1024).optional() }).strict(),
  'trust.approve': z.object({ nodeId }).strict(),
  'trust.reject': z.object({ nodeId, reason: z.string().max(1024).optional() }).strict(),
  'trust.revoke': z.object({ nodeId }).strict(),
  'tasks.submit': z.object({ target: target.optional(), tag: z.string().max(33).optional(), description: z.string().min(1).max(65_536), traceparent }).strict(),
  /** `limit`: only the newest that many (by creation). */
  'tasks.list': z.object({ category: z.enum(['received', 'submitted']).optional(), limit: z.number().int().min(1).max(100_000).optional() }).strict(),
  'tasks.get': z.object({ taskId: z.string().min(1).max(64) }).strict(),
  'tasks.queue': z.object({}).strict(),
  'tasks.accept': z.object({ taskId: z.string().min(1).max(64) }).strict(),
  'tasks.decline': z.object({ taskId: z.string().min(1).max(64), justification: z.string().min(1).max(4096) }).strict(),
  'tasks.execute': z.object({}).strict(),
  'tasks.result': z.object({ taskId: z.string().min(1).max(64) }).strict(),
  'tasks.sendResults': z
    .object({ taskId: z.string().min(1).max(64), text: z.string().max(1_000_000).optional(), filename: z.string().min(1).max(255).optional(), dataBase64: z.string().max(1_000_000).optional(), traceparent })
    .strict(),
  'traces.list': z.object({ limit: z.number().int().min(1).max(10_000).optional() }).strict(),
  'traces.get': z.object({ traceId: z.string().regex(/^[0-9a-f]{1,64}$/) }).strict(),
  'traces.collect': z
    .object({
      traceId: z.string().regex(/^[0-9a-f]{1,64}$/),
      rounds: z.number().int().min(1).max(8).optional(),
      timeoutMs: z.number().int().min(100).max(60_000).optional(),
      /** Nodes to ask besides those the local spans name (a collector that took no part). */
      peers: z.array(nodeId).max(32).optional(),
    })
    .strict(),
  'demo.status': z.object({}).strict(),
  'demo.setPaused': z.object({ paused: z.boolean() }).strict(),
  'logs.tail': z
    .object({
      limit: z.number().int().min(1).max(10_000).optional(),
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error']).optional(),
      peer: z.number().int().optional(),
      traceId: z.string().regex(/^[0-9a-f]{1,64}$/).optional(),
      component: z.string().max(64).optional(),
    })
    .strict(),
} as const;

export type MethodName = keyof typeof methodSchemas;
export type MethodArgs<M extends MethodName> = z.infer<(typeof methodSchemas)[M]>;

export interface MethodResults extends FleetMethodResults {
  'node.info': NodeInfoView;
  'node.setHostname': { hostname: string };
  'node.netcheck': NetcheckView;
  'node.setTags': { tags: string[] };
  'node.setVisibility': { public: boolean };
  'peers.list': PeerView[];
  'peers.inspect': PeerDetail;
  'peers.ping': PingReport;
  'peers.resolve': { nodeId: number; address: string; hostname?: string };
  'find.nodes': FoundNodeView[];
  'groups.list': GroupView[];
  'groups.create': GroupView;
  'groups.join': GroupView;
  'groups.leave': { name: string };
  'groups.members': GroupMemberView[];
  'groups.broadcast': BroadcastReport;
  'trust.pending': TrustRequestView[];
  'trust.list': TrustedPeerView[];
  'trust.request': { nodeId: number; status: string };
  'trust.approve': { nodeId: number; status: string };
  'trust.reject': { nodeId: number; status: string };
  'trust.revoke': { nodeId: number; status: string };
  'tasks.submit': TaskSubmitReport;
  'tasks.list': TaskView[];
  'tasks.get': TaskView;
  'tasks.queue': { taskId: string; description: string; from: string; createdAt: string }[];
  'tasks.accept': { taskId: string; status: string; message: string };
  'tasks.decline': { taskId: string; status: string; message: string };
  'tasks.execute': { taskId: string; description: string; status: string; from: string };
  'tasks.sendResults': { taskId: string; status: string; sentTo: string; sentType: 'text' | 'file'; filename?: string; fileSize?: number };
  'tasks.result': TaskResultView;
  'demo.status': DemoView;
  'demo.setPaused': DemoView;
  'traces.list': SpanView[];
  'traces.get': SpanView[];
  'traces.collect': CollectedTrace;
  'logs.tail': LogLine[];
}

export type MethodResult<M extends MethodName> = MethodResults[M];

// ---- events -----------------------------------------------------------------------------------

export interface ConsoleEvents {
  'peer.updated': PeerView;
  'peer.pathChanged': { nodeId: number; from: PathKind; to: PathKind; endpoint?: string };
  'ping.reply': { target: string; nodeId: number; reply: PingReply };
  /** `group`, when present, is the group's projection after the change (live member counts). */
  'groups.changed': { name: string; event: string; nodeId: number; group?: GroupView };
  'trust.requested': TrustRequestView;
  'trust.changed': { nodeId: number; state: TrustState };
  'span.ended': SpanView;
  'log': LogLine;
  'node.updated': NodeInfoView;
  /** A task this node submitted or received changed (created, status, results). */
  'task.updated': TaskView;
  'demo.changed': DemoView;
}

export type EventName = keyof ConsoleEvents;

/** Wire envelopes used by both the IPC extension command and the console WebSocket. */
export interface RequestEnvelope {
  id: number;
  method: MethodName;
  params: unknown;
}
export type ResponseEnvelope =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { code: string; message: string; hint?: string } };
export interface EventEnvelope {
  event: EventName;
  data: unknown;
}

/** A typed client over any transport (the Electron preload, the WebSocket, the daemon's IPC). */
export interface ConsoleClient {
  call<M extends MethodName>(method: M, args: MethodArgs<M>): Promise<MethodResult<M>>;
  on<E extends EventName>(event: E, handler: (data: ConsoleEvents[E]) => void): () => void;
}

/** An event with its payload, as one discriminated union (what a ConsoleService emits). */
export type ConsoleEvent = { [E in EventName]: { event: E; data: ConsoleEvents[E] } }[EventName];

/** The error half of a ResponseEnvelope; also what the preload rejects with (a plain, cloneable object). */
export interface ConsoleErrorPayload {
  code: string;
  message: string;
  hint?: string;
}

export const METHOD_NAMES = Object.keys(methodSchemas) as MethodName[];

export function isMethodName(s: unknown): s is MethodName {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(methodSchemas, s);
}

// ---- the Electron preload's shape (STYLE.md §3, §4) --------------------------------------------

/**
 * `window.pilot` in the Electron renderer: the same ConsoleClient the web console's WebSocket client
 * implements — `pilot.call('peers.ping', { target })`, `pilot.on('ping.reply', handler)` (returns
 * its unsubscribe function). Rejections are plain ConsoleErrorPayload objects (they cross
 * contextBridge, which would strip an Error's fields).
 */
export type PilotBridge = ConsoleClient;

export * from './contract-fleet';

// Run-time name lists live in a zod-free module so the renderer bundle does not carry the schemas.
export { EVENT_NAMES, EVENT_NAMES_COMPLETE, isEventName, type EventNamesComplete } from './contract-names';
