/**
 * Registry replies and pushed events (registry.md §2), one zod schema per reply type: what a
 * client accepts. The reply types are inferred from these schemas, so the server that builds the
 * replies and the client that parses them share one definition.
 *
 * The schemas bound what a hostile or broken registry can hand to a node (ids in range, keys of
 * the right size, names and tags in their alphabet) but never reject anything a registry lets
 * other nodes put into its state (a justification of any length, any finite polo score): one node
 * must not be able to make another node's lookups or searches fail. Unknown fields are dropped.
 */
import { z } from 'zod';
import { EVENT_KINDS, HOSTNAME_RE, JOIN_RULES, PUBLIC_KEY_B64_RE, TAG_RE } from './registry-rules';
import type { RegistryRequestType } from './registry-requests';

const u32 = z.uint32();
const u16 = z.uint32().max(0xffff);
const count = z.uint32();
/** Any finite number (JSON cannot carry NaN; 1e999 parses to Infinity and is refused). */
const score = z.number();
const seconds = z.number();
const ADDRESS_RE = /^(\d{1,5}):([0-9A-Fa-f]{4})\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}$/;
/** The text form of shared/address.ts (the hex network group equals the decimal prefix), checked cheaply. */
function isAddressText(s: string): boolean {
  const m = ADDRESS_RE.exec(s);
  return m !== null && Number(m[1]) === parseInt(m[2]!, 16);
}
const address = z.string().refine(isAddressText, 'not a Pilot address (N:NNNN.NNNN.NNNN)');
const publicKey = z.string().regex(PUBLIC_KEY_B64_RE, 'not base64 of 32 bytes');
/** The regexes bound the length too (hostnames ≤ 63, tags ≤ 32 characters). */
const hostname = z.string().regex(HOSTNAME_RE, 'not a valid hostname');
const networkName = hostname;
const tag = z.string().regex(TAG_RE, 'not a valid tag');
const tags = z.array(tag).max(64);
/** `ip:port` or `[v6]:port` as the registry saw the node's TCP source. */
const endpoint = z
  .string()
  .max(64)
  .regex(/^(?:\[[0-9A-Fa-f:.]+(?:%[\w.-]+)?\]|[^\s:[\]]+):\d{1,5}$/, 'not host:port');
const rfc3339 = z.string().max(40);
const joinRule = z.enum(JOIN_RULES);

const ok = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) => z.object({ type: z.literal(type), ...shape });

export const registerOk = ok('register_ok', {
  node_id: u32,
  network_id: z.literal(0),
  address,
  public_key: publicKey,
  hostname: hostname.optional(),
  hostname_error: z.string().max(200).optional(),
});
export const heartbeatOk = ok('heartbeat_ok', { time: seconds });
export const rotateKeyOk = ok('rotate_key_ok', { node_id: u32, address, public_key: publicKey });
export const lookupOk = ok('lookup_ok', {
  node_id: u32,
  address,
  networks: z.array(u16),
  public_key: publicKey,
  public: z.boolean(),
  polo_score: score,
  hostname: hostname.optional(),
  tags: tags.optional(),
  task_exec: z.literal(true).optional(),
  /** Extension: the node reported it sits behind a NAT. */
  behind_nat: z.boolean().optional(),
  real_addr: endpoint.optional(),
});
export const resolveOk = ok('resolve_ok', {
  node_id: u32,
  real_addr: endpoint,
  /** Extension (ours; the reference sends neither): the target's registered key and NAT flag, as lookup_ok has them. */
  public_key: publicKey.optional(),
  behind_nat: z.boolean().optional(),
});
export const setVisibilityOk = ok('set_visibility_ok', { node_id: u32, visibility: z.enum(['public', 'private']) });
export const setHostnameOk = ok('set_hostname_ok', { node_id: u32, hostname: z.union([z.literal(''), hostname]) });
export const resolveHostnameOk = ok('resolve_hostname_ok', {
  node_id: u32,
  address,
  public: z.boolean(),
  hostname,
  /** Extension, to a signed request (requester_id + signature) only: resolve_ok's fields, under resolve's rule. */
  real_addr: endpoint.optional(),
  public_key: publicKey.optional(),
  behind_nat: z.boolean().optional(),
});
export const setTagsOk = ok('set_tags_ok', { node_id: u32, tags: tags.nullable() });
export const setTaskExecOk = ok('set_task_exec_ok', { node_id: u32, task_exec: z.boolean() });

export const handshakeRequestEntry = z.object({ from_node_id: u32, justification: z.string(), timestamp: seconds });
export const handshakeResponseEntry = z.object({ from_node_id: u32, accept: z.boolean(), timestamp: seconds });
export const pollHandshakesOk = ok('poll_handshakes_ok', {
  requests: z.array(handshakeRequestEntry),
  responses: z.array(handshakeResponseEntry),
});
export const requestHandshakeOk = ok('request_handshake_ok', { status: z.string().max(64) });
export const respondHandshakeOk = ok('respond_handshake_ok', { accept: z.boolean(), peer_id: u32 });

export const punchOk = ok('punch_ok', { node_a: u32, node_a_addr: endpoint, node_b: u32, node_b_addr: endpoint });
const poloShape = { node_id: u32, address, polo_score: score };
export const getPoloScoreOk = ok('get_polo_score_ok', poloShape);
export const updatePoloScoreOk = ok('update_polo_score_ok', poloShape);
export const setPoloScoreOk = ok('set_polo_score_ok', poloShape);
export const beaconRegisterOk = ok('beacon_register_ok', { beacon_id: u32 });
/** Beacon addresses are whatever a beacon registered (unauthenticated, only the port is checked). */
export const beaconListOk = ok('beacon_list_ok', { beacons: z.array(z.object({ id: u32, addr: z.string() })) });

export const networkSummary = z.object({
  id: u16,
  name: networkName,
  members: count,
  /** Reference registries do not report it (read as 0). */
  online: count.optional().default(0),
  join_rule: joinRule,
});
export const listNetworksOk = ok('list_networks_ok', { networks: z.array(networkSummary) });
export const networkMember = z.object({
  node_id: u32,
  address,
  hostname: hostname.optional(),
  tags: tags.optional(),
  public_key: publicKey.optional(),
  last_seen: rfc3339.optional(),
  /** Reference registries do not report it (read as false). */
  online: z.boolean().optional().default(false),
  task_exec: z.literal(true).optional(),
  real_addr: endpoint.optional(),
});
export const listNodesOk = ok('list_nodes_ok', { network_id: u16, name: networkName, nodes: z.array(networkMember) });
export const createNetworkOk = ok('create_network_ok', { network_id: u16, name: networkName, join_rule: joinRule, address });
export const joinNetworkOk = ok('join_network_ok', { network_id: u16, name: networkName, address });
export const leaveNetworkOk = ok('leave_network_ok', { network_id: u16 });

export const foundNode = z.object({
  node_id: u32,
  address,
  hostname: hostname.optional(),
  tags,
  public_key: publicKey,
  last_seen: rfc3339,
  online: z.boolean(),
  public: z.boolean(),
  networks: z.array(u16),
  task_exec: z.literal(true).optional(),
});
export const findNodesOk = ok('find_nodes_ok', { nodes: z.array(foundNode) });
export const subscribeEventsOk = ok('subscribe_events_ok', { node_id: u32 });

/** The success reply of every request type. */
export const replySchemas = {
  register: registerOk,
  heartbeat: heartbeatOk,
  deregister: ok('deregister_ok', {}),
  rotate_key: rotateKeyOk,
  lookup: lookupOk,
  resolve: resolveOk,
  set_visibility: setVisibilityOk,
  set_hostname: setHostnameOk,
  resolve_hostname: resolveHostnameOk,
  set_tags: setTagsOk,
  set_task_exec: setTaskExecOk,
  report_trust: ok('report_trust_ok', {}),
  revoke_trust: ok('revoke_trust_ok', {}),
  request_handshake: requestHandshakeOk,
  poll_handshakes: pollHandshakesOk,
  respond_handshake: respondHandshakeOk,
  punch: punchOk,
  get_polo_score: getPoloScoreOk,
  update_polo_score: updatePoloScoreOk,
  set_polo_score: setPoloScoreOk,
  beacon_register: beaconRegisterOk,
  beacon_list: beaconListOk,
  list_networks: listNetworksOk,
  list_nodes: listNodesOk,
  create_network: createNetworkOk,
  join_network: joinNetworkOk,
  leave_network: leaveNetworkOk,
  subscribe_events: subscribeEventsOk,
  find_nodes: findNodesOk,
} as const satisfies Record<RegistryRequestType, z.ZodType<{ type: string }>>;

/** The success reply to a request of type K, as the server builds it and the client returns it. */
export type RegistryReply<K extends RegistryRequestType> = z.output<(typeof replySchemas)[K]>;

export type RegisterOk = z.output<typeof registerOk>;
export type HeartbeatOk = z.output<typeof heartbeatOk>;
export type RotateKeyOk = z.output<typeof rotateKeyOk>;
export type LookupOk = z.output<typeof lookupOk>;
export type ResolveOk = z.output<typeof resolveOk>;
export type ResolveHostnameOk = z.output<typeof resolveHostnameOk>;
export type HandshakeRequestEntry = z.output<typeof handshakeRequestEntry>;
export type HandshakeResponseEntry = z.output<typeof handshakeResponseEntry>;
export type PollHandshakesOk = z.output<typeof pollHandshakesOk>;
export type PunchOk = z.output<typeof punchOk>;
export type PoloScoreOk = z.output<typeof getPoloScoreOk | typeof updatePoloScoreOk | typeof setPoloScoreOk>;
export type NetworkSummary = z.output<typeof networkSummary>;
export type ListNetworksOk = z.output<typeof listNetworksOk>;
export type NetworkMember = z.output<typeof networkMember>;
export type ListNodesOk = z.output<typeof listNodesOk>;
export type CreateNetworkOk = z.output<typeof createNetworkOk>;
export type JoinNetworkOk = z.output<typeof joinNetworkOk>;
export type LeaveNetworkOk = z.output<typeof leaveNetworkOk>;
export type FoundNode = z.output<typeof foundNode>;
export type FindNodesOk = z.output<typeof findNodesOk>;
export type BeaconListOk = z.output<typeof beaconListOk>;

/** A frame pushed on a subscribed connection (extension). */
export const registryEvent = z.object({
  type: z.literal('event'),
  event: z.enum(EVENT_KINDS),
  time: rfc3339,
  node_id: u32,
  network_id: u16.optional(),
  name: networkName.optional(),
  peer_id: u32.optional(),
  trusted: z.boolean().optional(),
  accept: z.boolean().optional(),
  reason: z.enum(['left', 'deregistered']).optional(),
  justification: z.string().optional(),
});
export type RegistryEvent = z.output<typeof registryEvent>;

/**
 * An error reply: the reference's `{"error":"request failed","type":"error"}`, plus our `code` and
 * `hint`. A client recognises it by a string `error`; a `code` or `hint` that is not a short
 * string is ignored rather than failing the call.
 */
export const errorReplySchema = z.object({
  error: z.string(),
  code: z.string().max(64).optional().catch(undefined),
  hint: z.string().max(2000).optional().catch(undefined),
});
export type ParsedErrorReply = z.output<typeof errorReplySchema>;
