/**
 * The typed error family shared by every layer. Codes are the pilotctl / console error codes
 * (cli.md §3.2) plus a few protocol-level ones; every thrown PilotError carries one, so the CLI can
 * print `{"status":"error","code",...}` and the console can show a reason without parsing messages.
 */
export const ERROR_CODES = [
  'invalid_argument',
  'not_found',
  'already_exists',
  'not_running',
  'connection_failed',
  'timeout',
  'internal',
  'invalid_state',
  'expired',
  'unavailable',
  'unreachable',
  'permission_denied',
  'rate_limited',
  // protocol / codec level
  'short_buffer',
  'bad_version',
  'bad_checksum',
  'length_mismatch',
  'bad_magic',
  'frame_too_large',
  'bad_tag',
  'replay',
  'bad_signature',
  'bad_key',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class PilotError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, hint?: string) {
    super(message);
    this.name = 'PilotError';
    this.code = code;
    this.hint = hint;
  }

  toJSON(): { code: ErrorCode; message: string; hint?: string } {
    return this.hint === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, hint: this.hint };
  }
}

export function isPilotError(e: unknown, code?: ErrorCode): e is PilotError {
  return e instanceof PilotError && (code === undefined || e.code === code);
}

/** Wraps anything thrown into a PilotError (code `internal` unless it already is one). */
export function toPilotError(e: unknown): PilotError {
  if (e instanceof PilotError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new PilotError('internal', message);
}
