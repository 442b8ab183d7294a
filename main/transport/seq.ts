/**
 * 32-bit wrapping sequence-number arithmetic (transport.md §3, RFC 1982 style):
 * `after(a, b) ⇔ (int32)(a − b) > 0`. All values are unsigned 32-bit integers.
 */

/** `(a + n) mod 2^32`. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** Signed distance `a − b` as an int32 (positive when `a` is after `b`). */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** `a` is strictly after `b`. */
export function seqAfter(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

/** `a` is strictly before `b`. */
export function seqBefore(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** `a` is at or after `b`. */
export function seqAfterEq(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** `a` is at or before `b`. */
export function seqBeforeEq(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}
