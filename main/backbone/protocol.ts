/**
 * Registry server policy: timers (registry.md §4) and the signed texts under the registry's message
 * names. The protocol itself (rules, request and reply schemas, error replies, events) is the codec
 * in main/wire/registry.ts, shared with the client.
 */
import { challenge as signed } from '../crypto/signatures';
import { extensionChallenge } from '../wire/registry';

export const STALE_MS = 3 * 60_000;
export const REAP_INTERVAL_MS = 60_000;
export const BEACON_TTL_MS = 60_000;
export const REGISTER_RATE_PER_MIN = 10;
export const IDLE_MS = 5 * 60_000;

/**
 * Signature challenge strings (registry.md §1.3): the reference's, from main/crypto, under the names
 * the registry uses, plus our extensions from the wire codec. Ids are decimal.
 */
export const challenge = {
  ...signed,
  requestHandshake: signed.handshake,
  respondHandshake: signed.respond,
  rotateKey: signed.rotate,
  ...extensionChallenge,
} as const;
