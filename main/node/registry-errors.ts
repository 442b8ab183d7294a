/**
 * What an error reply from a registry means (registry.md §1.1). Ours send
 * `{"type":"error","error":"request failed","code","hint"}`; a reference registry sends no code:
 * the documented one always says `"request failed"`, others put the reason in `error` (the
 * reference client shows it as `registry: <error>`). A reason is kept as the message and given the
 * error code and hint that fit it, so "the node is private" stays that instead of a generic
 * `connection_failed`; the generic one is a refusal (`unavailable`). Pure: no I/O.
 */
import { ERROR_CODES, type ErrorCode } from '../../shared/errors';
import { errorReplySchema } from '../wire/registry';

export interface RegistryErrorMeaning {
  code: ErrorCode;
  message: string;
  hint: string | undefined;
  /** The reply's `code` as sent (may be `rate_limited`, which is not an ErrorCode). */
  wireCode: string | undefined;
}

/** The reference's generic reason (and ours, which adds `code`). */
export const GENERIC_REASON = 'request failed';
const MAX_REASON = 200;
const NO_REASON_HINT = 'the registry refused the request without a reason (a reference registry writes it only to its own log)';

const RULES: { test: RegExp; code: ErrorCode; hint: string | undefined }[] = [
  {
    test: /unknown (message )?type|unknown (request|command|method)|unsupported|not supported|not implemented/i,
    code: 'unavailable',
    hint: 'this registry does not know the request (a reference registry?); groups, tag search and pushed events need a Pilot Fleet backbone',
  },
  {
    test: /private|not trusted|no trust|denied|forbidden|not (authori[sz]ed|allowed|permitted)|unauthori[sz]ed|permission/i,
    code: 'permission_denied',
    hint: 'the node is private: ask for trust (pilotctl handshake <node> "reason") or have its owner make it public (pilotctl set-public)',
  },
  { test: /rate.?limit|too many|slow down/i, code: 'unavailable', hint: 'the registry is limiting requests from this address: try again in a minute' },
  { test: /standby|read.?only|disabled|maintenance|\bwip\b/i, code: 'unavailable', hint: 'the registry does not accept this request now' },
  { test: /not found|unknown node|no such|does not exist|not registered/i, code: 'not_found', hint: 'check the node id or hostname (pilotctl lookup <node_id>)' },
  { test: /signature/i, code: 'bad_signature', hint: 'the registry holds another key for this node (was the identity file replaced?)' },
  { test: /already|taken|in use|exists|duplicate/i, code: 'already_exists', hint: undefined },
  { test: /invalid|missing|required|must|too (long|short|many)|maximum|malformed/i, code: 'invalid_argument', hint: undefined },
];

/** Maps an error reply (any JSON object with a string `error`) to a code, message and hint. */
export function registryErrorMeaning(reply: Record<string, unknown>): RegistryErrorMeaning {
  const parsed = errorReplySchema.safeParse(reply);
  const wireCode = parsed.success ? parsed.data.code : undefined;
  const wireHint = parsed.success ? parsed.data.hint : undefined;
  const reason = cleanReason(typeof reply['error'] === 'string' ? reply['error'] : '');
  const message = `registry: ${reason || GENERIC_REASON}`;
  if (wireCode !== undefined) {
    const code: ErrorCode = wireCode === 'rate_limited' ? 'unavailable' : (ERROR_CODES as readonly string[]).includes(wireCode) ? (wireCode as ErrorCode) : 'internal';
    return { code, message, hint: wireHint, wireCode };
  }
  // No code: a reference registry. It answered, so this is a refusal, never `connection_failed`
  // (a caller would take the registry for unreachable: node.dial then said "request failed"
  // instead of "private, or unknown").
  if (!reason || reason.toLowerCase() === GENERIC_REASON) {
    return { code: 'unavailable', message, hint: wireHint ?? ('code' in reply ? undefined : NO_REASON_HINT), wireCode };
  }
  const rule = RULES.find((r) => r.test.test(reason));
  return { code: rule?.code ?? 'internal', message, hint: wireHint ?? rule?.hint, wireCode };
}

/** One line, printable, bounded: the text comes from a remote server. */
function cleanReason(s: string): string {
  // eslint-disable-next-line no-control-regex
  const one = s.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return one.length > MAX_REASON ? `${one.slice(0, MAX_REASON)}…` : one;
}
