/**
 * The registry protocol as a typed codec (registry.md). Frames are length-prefixed JSON
 * (framing.ts); this module types what goes inside them:
 *
 * - `requestSchemas` / `RegistryRequest<K>`: what a registry accepts for message type K
 *   (registry-requests.ts),
 * - `replySchemas` / `RegistryReply<K>`: the success reply to K (registry-replies.ts),
 * - `RegistryMessages`: the map type → request → reply that types the server's handlers and the
 *   client's calls,
 * - `decodeRegistryReply` / `decodeRegistryEvent`: what a client does with a frame it received.
 *
 * Pure: no sockets, no timers, no crypto.
 */
import type { z } from 'zod';
import { errorReplySchema, registryEvent, replySchemas, type ParsedErrorReply, type RegistryEvent, type RegistryReply } from './registry-replies';
import type { RegistryRequest, RegistryRequestFields, RegistryRequestType } from './registry-requests';

export * from './registry-rules';
export * from './registry-requests';
export * from './registry-replies';

/** Message type → validated request, the fields a sender writes, and the success reply. */
export type RegistryMessages = {
  [K in RegistryRequestType]: { request: RegistryRequest<K>; fields: RegistryRequestFields<K>; reply: RegistryReply<K> };
};

/** What one reply frame to a request of type K turned out to be. */
export type DecodedReply<K extends RegistryRequestType> =
  | { kind: 'ok'; reply: RegistryReply<K> }
  | { kind: 'error'; error: ParsedErrorReply }
  | { kind: 'malformed'; problem: string };

const MAX_PROBLEM = 200;

function describe(v: unknown): string {
  const text = typeof v === 'string' ? JSON.stringify(v) : v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function firstIssue(e: z.ZodError): string {
  const issue = e.issues[0];
  if (!issue) return 'invalid';
  const where = issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
  const text = `${where}${issue.message}`;
  return text.length > MAX_PROBLEM ? `${text.slice(0, MAX_PROBLEM)}…` : text;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Classifies a decoded JSON frame received in answer to a request of type `type`: an error reply
 * (any object with a string `error`, registry.md §1.1), the expected `<type>_ok` reply valid
 * against its schema, or malformed (with a short description of the first problem).
 */
export function decodeRegistryReply<K extends RegistryRequestType>(type: K, frame: unknown): DecodedReply<K> {
  if (!isObject(frame)) return { kind: 'malformed', problem: `reply is ${describe(frame)}, not an object` };
  if (typeof frame['error'] === 'string') {
    const e = errorReplySchema.safeParse(frame);
    return { kind: 'error', error: e.success ? e.data : { error: frame['error'] } };
  }
  const expected = `${type}_ok`;
  if (frame['type'] !== expected) return { kind: 'malformed', problem: `expected ${expected}, got ${describe(frame['type'])}` };
  const schema: z.ZodType = replySchemas[type];
  const r = schema.safeParse(frame);
  return r.success ? { kind: 'ok', reply: r.data as RegistryReply<K> } : { kind: 'malformed', problem: firstIssue(r.error) };
}

/** Validates a pushed event frame; a frame that is not one gives the reason. */
export function decodeRegistryEvent(frame: unknown): { ok: true; event: RegistryEvent } | { ok: false; problem: string } {
  const r = registryEvent.safeParse(frame);
  return r.success ? { ok: true, event: r.data } : { ok: false, problem: firstIssue(r.error) };
}
