/**
 * Registry protocol vocabulary shared by the server (registry-state.ts) and the typed client
 * (node/registry-client.ts): validation rules (registry.md §3), signature challenges (§1.3),
 * timers (§4), the error-reply shape (§1.1 plus our `code`/`hint` extension) and the reply types.
 */
import { formatAddress } from '../../shared/address';
import { challenge as signed } from '../crypto/signatures';

export const HOSTNAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const TAG_RE = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
export const RESERVED_HOSTNAMES: ReadonlySet<string> = new Set(['localhost', 'backbone', 'broadcast']);
export const RESERVED_NETWORK_NAMES: ReadonlySet<string> = new Set(['backbone']);
export const MAX_TAGS = 10;
export const INBOX_MAX = 100;

export const STALE_MS = 3 * 60_000;
export const REAP_INTERVAL_MS = 60_000;
export const BEACON_TTL_MS = 60_000;
export const REGISTER_RATE_PER_MIN = 10;
export const IDLE_MS = 5 * 60_000;

export const JOIN_RULES = ['open', 'token', 'invite'] as const;
export type JoinRule = (typeof JOIN_RULES)[number];

/** Returns a reason when the hostname is invalid, undefined when valid. "" (clear) is valid. */
export function hostnameProblem(h: string): string | undefined {
  if (h === '') return undefined;
  if (h.length > 63) return 'hostname longer than 63 characters';
  if (!HOSTNAME_RE.test(h)) return 'hostname must be lowercase letters, digits and inner hyphens';
  if (RESERVED_HOSTNAMES.has(h)) return `hostname "${h}" is reserved`;
  return undefined;
}

export function networkNameProblem(n: string): string | undefined {
  if (n.length < 1 || n.length > 63) return 'network name must be 1-63 characters';
  if (!HOSTNAME_RE.test(n)) return 'network name must be lowercase letters, digits and inner hyphens';
  if (RESERVED_NETWORK_NAMES.has(n)) return `network name "${n}" is reserved`;
  return undefined;
}

/**
 * Normalises a tag list the way the registry does: non-strings ignored, one leading '#' stripped,
 * duplicates removed. Returns the tags or a reason.
 */
export function normaliseTags(raw: readonly unknown[]): { tags: string[] } | { problem: string } {
  const out: string[] = [];
  for (const t of raw) {
    if (typeof t !== 'string') continue;
    const s = t.startsWith('#') ? t.slice(1) : t;
    if (s.length < 1 || s.length > 32 || !TAG_RE.test(s)) return { problem: `invalid tag "${t}"` };
    if (!out.includes(s)) out.push(s);
  }
  if (out.length > MAX_TAGS) return { problem: `at most ${MAX_TAGS} tags` };
  return { tags: out };
}

/**
 * Signature challenge strings (registry.md §1.3): the reference's, from main/crypto, under the names
 * the registry uses, plus our extensions. Ids are decimal.
 */
export const challenge = {
  ...signed,
  requestHandshake: signed.handshake,
  respondHandshake: signed.respond,
  rotateKey: signed.rotate,
  // extensions
  createNetwork: (id: number) => `create_network:${id}`,
  joinNetwork: (id: number, net: number) => `join_network:${id}:${net}`,
  leaveNetwork: (id: number, net: number) => `leave_network:${id}:${net}`,
  subscribeEvents: (id: number) => `subscribe_events:${id}`,
  findNodes: (id: number) => `find_nodes:${id}`,
} as const;

/**
 * Machine-readable reasons carried in the `code` field of an error reply. All but `rate_limited`
 * are ErrorCodes of shared/errors.ts.
 */
export type WireErrorCode =
  | 'invalid_argument'
  | 'not_found'
  | 'already_exists'
  | 'bad_signature'
  | 'permission_denied'
  | 'unavailable'
  | 'rate_limited'
  | 'internal';

/** `{"error":"request failed","type":"error"}` + extension fields `code` and `hint`. */
export type ErrorReply = {
  type: 'error';
  error: 'request failed';
  code: WireErrorCode;
  hint?: string;
};

export function errorReply(code: WireErrorCode, hint?: string): ErrorReply {
  return hint === undefined ? { type: 'error', error: 'request failed', code } : { type: 'error', error: 'request failed', code, hint };
}

export function nodeAddress(node: number, network = 0): string {
  return formatAddress({ network, node });
}

/** RFC 3339 with millisecond precision. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

// ---------------------------------------------------------------------------------------------
// Reply shapes (what the server sends; the client returns these typed).

export interface RegisterOk {
  type: 'register_ok';
  node_id: number;
  network_id: 0;
  address: string;
  public_key: string;
  hostname?: string;
  hostname_error?: string;
}
export interface HeartbeatOk {
  type: 'heartbeat_ok';
  time: number;
}
export interface LookupOk {
  type: 'lookup_ok';
  node_id: number;
  address: string;
  networks: number[];
  public_key: string;
  public: boolean;
  polo_score: number;
  hostname?: string;
  tags?: string[];
  task_exec?: true;
  /** Extension: the node reported it sits behind a NAT. */
  behind_nat?: boolean;
  real_addr?: string;
}
export interface ResolveOk {
  type: 'resolve_ok';
  node_id: number;
  real_addr: string;
}
export interface ResolveHostnameOk {
  type: 'resolve_hostname_ok';
  node_id: number;
  address: string;
  public: boolean;
  hostname: string;
}
export interface HandshakeRequestEntry {
  from_node_id: number;
  justification: string;
  timestamp: number;
}
export interface HandshakeResponseEntry {
  from_node_id: number;
  accept: boolean;
  timestamp: number;
}
export interface PollHandshakesOk {
  type: 'poll_handshakes_ok';
  requests: HandshakeRequestEntry[];
  responses: HandshakeResponseEntry[];
}
export interface PunchOk {
  type: 'punch_ok';
  node_a: number;
  node_a_addr: string;
  node_b: number;
  node_b_addr: string;
}
export interface PoloScoreOk {
  type: 'get_polo_score_ok' | 'update_polo_score_ok' | 'set_polo_score_ok';
  node_id: number;
  address: string;
  polo_score: number;
}
export interface NetworkSummary {
  id: number;
  name: string;
  members: number;
  online: number;
  join_rule: JoinRule;
}
export interface ListNetworksOk {
  type: 'list_networks_ok';
  networks: NetworkSummary[];
}
export interface NetworkMember {
  node_id: number;
  address: string;
  hostname?: string;
  tags?: string[];
  public_key?: string;
  last_seen?: string;
  online: boolean;
  task_exec?: true;
  real_addr?: string;
}
export interface ListNodesOk {
  type: 'list_nodes_ok';
  network_id: number;
  name: string;
  nodes: NetworkMember[];
}
export interface CreateNetworkOk {
  type: 'create_network_ok';
  network_id: number;
  name: string;
  join_rule: JoinRule;
  address: string;
}
export interface JoinNetworkOk {
  type: 'join_network_ok';
  network_id: number;
  name: string;
  address: string;
}
export interface LeaveNetworkOk {
  type: 'leave_network_ok';
  network_id: number;
}
export interface FoundNode {
  node_id: number;
  address: string;
  hostname?: string;
  tags: string[];
  public_key: string;
  last_seen: string;
  online: boolean;
  public: boolean;
  networks: number[];
  task_exec?: true;
}
export interface FindNodesOk {
  type: 'find_nodes_ok';
  nodes: FoundNode[];
}
export interface BeaconListOk {
  type: 'beacon_list_ok';
  beacons: { id: number; addr: string }[];
}

export const EVENT_KINDS = [
  'network_created',
  'member_joined',
  'member_left',
  'trust_changed',
  'handshake_request',
  'handshake_response',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** A frame pushed on a subscribed connection. */
export interface RegistryEvent {
  type: 'event';
  event: EventKind;
  time: string;
  node_id: number;
  network_id?: number;
  name?: string;
  peer_id?: number;
  trusted?: boolean;
  accept?: boolean;
  reason?: 'left' | 'deregistered';
  justification?: string;
}
