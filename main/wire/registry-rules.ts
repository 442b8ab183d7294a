/**
 * Registry protocol vocabulary (registry.md): validation rules (§3), the error-reply shape (§1.1
 * plus our `code`/`hint` extension), the signed texts of our extension messages (§1.3 lists the
 * reference's, built by main/crypto/signatures.ts), and the text forms used in replies.
 * Pure: no sockets, no crypto.
 */
import { formatAddress } from '../../shared/address';

export const HOSTNAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const TAG_RE = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
export const RESERVED_HOSTNAMES: ReadonlySet<string> = new Set(['localhost', 'backbone', 'broadcast']);
export const RESERVED_NETWORK_NAMES: ReadonlySet<string> = new Set(['backbone']);
export const MAX_TAGS = 10;
export const INBOX_MAX = 100;
/**
 * Public keys are standard base64 of exactly 32 bytes (43 characters and one '='). Like Go's and
 * Node's decoders, the unused low bits of the last character are not checked.
 */
export const PUBLIC_KEY_B64_RE = /^[A-Za-z0-9+/]{43}=$/;

export const JOIN_RULES = ['open', 'token', 'invite'] as const;
export type JoinRule = (typeof JOIN_RULES)[number];

export const EVENT_KINDS = [
  'network_created',
  'member_joined',
  'member_left',
  'trust_changed',
  'handshake_request',
  'handshake_response',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

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

/** Ids in challenges are decimal without padding (registry.md §1.3). */
function dec(id: number): string {
  if (!Number.isSafeInteger(id) || id < 0) throw new RangeError(`id must be a non-negative integer, got ${String(id)}`);
  return id.toString(10);
}

/**
 * Signed texts of our extension messages. The reference's (heartbeat, resolve, ...) are
 * main/crypto's `challenge`; backbone/protocol.ts joins both under the registry's message names.
 */
export const extensionChallenge = {
  createNetwork: (id: number): string => `create_network:${dec(id)}`,
  joinNetwork: (id: number, net: number): string => `join_network:${dec(id)}:${dec(net)}`,
  leaveNetwork: (id: number, net: number): string => `leave_network:${dec(id)}:${dec(net)}`,
  subscribeEvents: (id: number): string => `subscribe_events:${dec(id)}`,
  findNodes: (id: number): string => `find_nodes:${dec(id)}`,
  /** resolve_hostname signed by a requester, answered with the endpoint resolve would give it. */
  resolveHostname: (id: number, hostname: string): string => `resolve_hostname:${dec(id)}:${hostname}`,
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
