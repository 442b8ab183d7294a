/**
 * Fuzz inputs shared by the property tests (`*.fuzz.test.ts`, through fast-check) and the live fuzzer
 * (`live.ts`, through a seeded PRNG): the byte vectors of ../shared/pilot-protocol/test-vectors.json as
 * seeds, and the mutations applied to them (bit flips, byte sets, truncation, extension, insertion,
 * deletion, and 16/32-bit fields set to hostile values such as 0, 0xffff and 0xffffffff, which hit
 * every length field wherever it sits).
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';

/** Runs per property: FUZZ_RUNS (default 200, which keeps the whole set a few seconds in `npm test`). */
export const FUZZ_RUNS = Math.max(1, Number(process.env['FUZZ_RUNS'] ?? 200) || 200);

/** Per-test timeout for the property tests: the default 30 s, plus room for a long FUZZ_RUNS on a busy machine. */
export const FUZZ_TIMEOUT = 30_000 + FUZZ_RUNS * 20;

const VECTORS = fileURLToPath(new URL('../fixtures/test-vectors.json', import.meta.url));

/** Every `*_hex` byte string in the test vectors (packets, tunnel frames, SACK payloads, keys...), by JSON path. */
export function vectorSeeds(): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const walk = (v: unknown, p: string): void => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${p}[${i}]`));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, p ? `${p}.${k}` : k);
    else if (typeof v === 'string' && /_hex$/.test(p) && /^([0-9a-f]{2})+$/i.test(v)) out.set(p, Uint8Array.from(Buffer.from(v, 'hex')));
  };
  walk(JSON.parse(fs.readFileSync(VECTORS, 'utf8')) as unknown, '');
  return out;
}

/** Values that break length and id fields: zero, one, the type's max, the sign bit, just past a limit. */
export const HOSTILE_U32 = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x00100001, 0x01000001, 0xffff, 0x10000];
export const HOSTILE_U16 = [0, 1, 0x7fff, 0x8000, 0xfffe, 0xffff, 0x0401, 0x05dc];

export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'truncate'; at: number }
  | { op: 'extend'; bytes: Uint8Array }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; n: number }
  | { op: 'u16'; at: number; value: number }
  | { op: 'u32'; at: number; value: number };

/** Applies mutations in order; positions are taken modulo the current length (so any number fits). */
export function applyMutations(input: Uint8Array, muts: readonly Mutation[]): Uint8Array {
  let b = Uint8Array.from(input);
  for (const m of muts) {
    // Truncation and insertion may use the end position too; the others need an existing byte.
    const span = m.op === 'insert' || m.op === 'truncate' ? b.length + 1 : b.length;
    const at = m.op === 'extend' || span === 0 ? 0 : m.at % span;
    switch (m.op) {
      case 'flip':
        if (b.length) b[at] = b[at]! ^ (1 << (m.bit & 7));
        break;
      case 'set':
        if (b.length) b[at] = m.value & 0xff;
        break;
      case 'truncate':
        b = b.slice(0, at);
        break;
      case 'extend': {
        const n = new Uint8Array(b.length + m.bytes.length);
        n.set(b);
        n.set(m.bytes, b.length);
        b = n;
        break;
      }
      case 'insert': {
        const n = new Uint8Array(b.length + m.bytes.length);
        n.set(b.subarray(0, at));
        n.set(m.bytes, at);
        n.set(b.subarray(at), at + m.bytes.length);
        b = n;
        break;
      }
      case 'delete':
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + m.n)]);
        break;
      case 'u16':
        if (b.length >= 2) {
          const o = Math.min(at, b.length - 2);
          b[o] = m.value >>> 8;
          b[o + 1] = m.value;
        }
        break;
      case 'u32':
        if (b.length >= 4) {
          const o = Math.min(at, b.length - 4);
          b[o] = m.value >>> 24;
          b[o + 1] = m.value >>> 16;
          b[o + 2] = m.value >>> 8;
          b[o + 3] = m.value;
        }
        break;
    }
  }
  return b;
}

// ---- fast-check ------------------------------------------------------------------------------

const pos = fc.nat({ max: 4096 });
const smallBytes = fc.uint8Array({ maxLength: 48 });

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('flip' as const), at: pos, bit: fc.nat({ max: 7 }) }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('set' as const), at: pos, value: fc.nat({ max: 255 }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('truncate' as const), at: pos }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('extend' as const), bytes: smallBytes }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('insert' as const), at: pos, bytes: smallBytes }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('delete' as const), at: pos, n: fc.integer({ min: 1, max: 16 }) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('u16' as const), at: pos, value: fc.oneof(fc.constantFrom(...HOSTILE_U16), fc.nat({ max: 0xffff })) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('u32' as const), at: pos, value: fc.oneof(fc.constantFrom(...HOSTILE_U32), fc.nat({ max: 0xffffffff })) }), weight: 2 },
);

/** A seed (mutated 0–4 times) or plain random bytes. */
export function mutatedArb(seeds: readonly Uint8Array[], maxRandom = 2048): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { arbitrary: fc.tuple(fc.constantFrom(...seeds), fc.array(mutationArb, { maxLength: 4 })).map(([s, m]) => applyMutations(s, m)), weight: 4 },
    { arbitrary: fc.uint8Array({ maxLength: maxRandom }), weight: 1 },
  );
}

// ---- seeded PRNG (live fuzzer) -----------------------------------------------------------------

/** One random mutation from a [0,1) source (same distribution family as `mutationArb`). */
export function randomMutation(rand: () => number): Mutation {
  const int = (n: number): number => Math.floor(rand() * n);
  const bytes = (max: number): Uint8Array => {
    const b = new Uint8Array(int(max + 1));
    for (let i = 0; i < b.length; i++) b[i] = int(256);
    return b;
  };
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  switch (int(15)) {
    case 0:
    case 1:
    case 2:
    case 3:
      return { op: 'flip', at: int(4096), bit: int(8) };
    case 4:
    case 5:
      return { op: 'set', at: int(4096), value: int(256) };
    case 6:
    case 7:
      return { op: 'truncate', at: int(4096) };
    case 8:
      return { op: 'extend', bytes: bytes(48) };
    case 9:
      return { op: 'insert', at: int(4096), bytes: bytes(48) };
    case 10:
      return { op: 'delete', at: int(4096), n: 1 + int(16) };
    case 11:
    case 12:
      return { op: 'u16', at: int(4096), value: rand() < 0.5 ? pick(HOSTILE_U16) : int(0x10000) };
    default:
      return { op: 'u32', at: int(4096), value: rand() < 0.5 ? pick(HOSTILE_U32) : int(0x100000000) };
  }
}

export function mutateRandomly(rand: () => number, input: Uint8Array, maxMutations = 4): Uint8Array {
  const n = 1 + Math.floor(rand() * maxMutations);
  const muts: Mutation[] = [];
  for (let i = 0; i < n; i++) muts.push(randomMutation(rand));
  return applyMutations(input, muts);
}
