import type { ConsoleErrorPayload } from '../../../shared/contract';
import { isErrorPayload } from '../../../shared/envelope-client';

export { isErrorPayload };

/** A failed console call: `code` is one of the contract's error codes (`not_found`, `timeout`, …). */
export class ConsoleCallError extends Error {
  readonly code: string;
  readonly hint: string | undefined;

  constructor(payload: ConsoleErrorPayload) {
    super(payload.message);
    this.name = 'ConsoleCallError';
    this.code = payload.code;
    this.hint = payload.hint;
  }
}

/** Anything a call rejected with, as a ConsoleCallError. */
export function toCallError(e: unknown): ConsoleCallError {
  if (e instanceof ConsoleCallError) return e;
  if (isErrorPayload(e)) return new ConsoleCallError(e);
  return new ConsoleCallError({ code: 'internal', message: e instanceof Error ? e.message : String(e) });
}
