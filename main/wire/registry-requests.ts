/**
 * Registry requests (registry.md §2), one zod schema per message type: what a registry accepts.
 * The server validates each request once against these before its handler runs; the client types
 * the requests it sends with their input types.
 *
 * Ids behave like the reference's float64 → uint conversion: anything that is not a number in
 * range becomes 0 (which never names a node). Missing strings and booleans read as "" and false,
 * as in Go.
 */
import { z } from 'zod';
import { JOIN_RULES } from './registry-rules';

const u32 = z.unknown().transform((v) => (typeof v === 'number' && v >= 0 && v <= 0xffffffff ? Math.trunc(v) : 0));
const u16 = z.unknown().transform((v) => (typeof v === 'number' && v >= 0 && v <= 0xffff ? Math.trunc(v) : 0));
const str = z.string().optional().default('');
const sig = z.string().optional().default('');
const bool = z.boolean().optional().default(false);
/** A group named by id or by name (extension; the name wins when both are given). */
const netRef = { network_id: u16.optional(), network: z.string().optional() };

const signedNode = z.object({ node_id: u32, signature: sig });
const trust = z.object({ node_id: u32, peer_id: u32, signature: sig });
const empty = z.object({});

export const requestSchemas = {
  // identity and presence (§2.1)
  register: z.object({ listen_addr: str, public_key: str, owner: str, hostname: str, behind_nat: z.boolean().optional() }),
  heartbeat: signedNode,
  deregister: signedNode,
  rotate_key: z.object({ node_id: u32, signature: sig, new_public_key: str }),
  lookup: z.object({ node_id: u32 }),
  resolve: z.object({ node_id: u32, requester_id: u32, signature: sig }),
  set_visibility: z.object({ node_id: u32, public: bool, signature: sig }),
  // hostnames and tags (§2.2)
  set_hostname: z.object({ node_id: u32, hostname: str, signature: sig }),
  // requester_id + signature: extension (resolve_hostname_ok then carries what resolve would give the requester).
  resolve_hostname: z.object({ hostname: str, requester_id: u32.optional(), signature: sig }),
  set_tags: z.object({ node_id: u32, tags: z.array(z.unknown()).nullable().optional(), signature: sig }),
  set_task_exec: z.object({ node_id: u32, enabled: bool, signature: sig }),
  // trust and relayed handshakes (§2.3)
  report_trust: trust,
  revoke_trust: trust,
  request_handshake: z.object({ from_node_id: u32, to_node_id: u32, justification: str, signature: sig }),
  poll_handshakes: signedNode,
  respond_handshake: z.object({ node_id: u32, peer_id: u32, accept: bool, signature: sig }),
  // NAT helper, polo score, beacons (§2.4, §2.5, §2.7)
  punch: z.object({ requester_id: u32, node_a: u32, node_b: u32, signature: sig }),
  get_polo_score: z.object({ node_id: u32 }),
  update_polo_score: z.object({ node_id: u32, delta: z.number() }),
  set_polo_score: z.object({ node_id: u32, polo_score: z.number() }),
  beacon_register: z.object({ beacon_id: u32, addr: str }),
  beacon_list: empty,
  // networks / groups (§2.6; create, join and leave are extensions that work)
  list_networks: empty,
  list_nodes: z.object(netRef),
  create_network: z.object({
    node_id: u32,
    name: str,
    join_rule: z.enum(JOIN_RULES).optional().default('open'),
    token: str,
    admin_token: str,
    signature: sig,
  }),
  join_network: z.object({ node_id: u32, ...netRef, token: str, inviter_id: u32.optional(), signature: sig }),
  leave_network: z.object({ node_id: u32, ...netRef, signature: sig }),
  // extensions: pushed events and capability search
  subscribe_events: signedNode,
  find_nodes: z.object({
    requester_id: u32.optional(),
    signature: z.string().optional(),
    tags: z.array(z.string()).max(64).optional(),
    any_tags: z.array(z.string()).max(64).optional(),
    ...netRef,
    hostname_prefix: z.string().max(63).optional(),
    limit: z.number().int().min(1).optional(),
  }),
} as const;

export type RegistryRequestType = keyof typeof requestSchemas;
export const REGISTRY_REQUEST_TYPES = Object.keys(requestSchemas) as RegistryRequestType[];

/** A request as a handler sees it (validated, defaults applied, ids converted). */
export type RegistryRequest<K extends RegistryRequestType> = z.output<(typeof requestSchemas)[K]>;
/** Ids are read leniently (any value, converted) but a sender writes numbers. */
type AsSent<T> = { [P in keyof T]: unknown extends T[P] ? number : T[P] };
/** The fields a sender may put in a request of type K (besides `type`). */
export type RegistryRequestFields<K extends RegistryRequestType> = AsSent<z.input<(typeof requestSchemas)[K]>>;

export function isRegistryRequestType(t: unknown): t is RegistryRequestType {
  return typeof t === 'string' && Object.hasOwn(requestSchemas, t);
}

/**
 * Validates a request of a known type. Returns the typed request or a hint naming the first
 * problem (`path: message`), for the error reply.
 */
export function parseRegistryRequest<K extends RegistryRequestType>(
  type: K,
  req: unknown,
): { ok: true; request: RegistryRequest<K> } | { ok: false; hint: string } {
  const r = requestSchemas[type].safeParse(req);
  if (r.success) return { ok: true, request: r.data as RegistryRequest<K> };
  const issue = r.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return { ok: false, hint: `${where}${issue?.message ?? 'invalid request'}` };
}
