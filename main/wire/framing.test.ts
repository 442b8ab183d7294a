import { describe, it, expect } from 'vitest';
import vectors from '../../test/fixtures/test-vectors.json';
import { FrameDecoder, MAX_FRAME, decodeJson, encodeFrame, encodeJson, encodeJsonFrame } from './framing';
import { ascii, hex, prng, randomBytes, randomInt, randomSplit, unhex } from './testkit';

const R = vectors.vectors.registry;
const code = (c: string) => expect.objectContaining({ code: c });

type RegistryFrame = { json: string; frame_hex: string; body_length: number };
const registryFrames = Object.entries(R).filter(
  (e): e is [string, RegistryFrame] => typeof e[1] === 'object' && e[1] !== null && 'frame_hex' in e[1],
);

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe('registry frame vectors (test-vectors.json)', () => {
  it('has the expected vectors', () => {
    expect(registryFrames.length).toBeGreaterThanOrEqual(9);
  });

  it.each(registryFrames)('%s: decodes to its JSON and re-encodes to the same bytes', (_name, v) => {
    const bytes = unhex(v.frame_hex);
    const frames = new FrameDecoder().push(bytes);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.length).toBe(v.body_length);
    expect(decodeJson(frames[0]!)).toEqual(JSON.parse(v.json));
    expect(new TextDecoder().decode(frames[0]!)).toBe(v.json);
    expect(hex(encodeFrame(ascii(v.json)))).toBe(v.frame_hex);
    // The vector JSON is key-sorted and compact: JSON.stringify of the parsed object reproduces it.
    expect(hex(encodeJsonFrame(JSON.parse(v.json)))).toBe(v.frame_hex);
  });
});

describe('FrameDecoder', () => {
  it('returns nothing until a frame is complete, then the frame', () => {
    const d = new FrameDecoder();
    const f = encodeFrame(ascii('hello'));
    for (let i = 0; i < f.length - 1; i++) {
      expect(d.push(f.subarray(i, i + 1))).toEqual([]);
      expect(d.buffered).toBe(i + 1);
    }
    const out = d.push(f.subarray(f.length - 1));
    expect(out.map((b) => new TextDecoder().decode(b))).toEqual(['hello']);
    expect(d.buffered).toBe(0);
  });

  it('returns several frames from one chunk, including empty frames', () => {
    const bodies = [ascii('a'), new Uint8Array(0), ascii('bcd'), new Uint8Array(0)];
    const out = new FrameDecoder().push(concat(bodies.map((b) => encodeFrame(b))));
    expect(out.map(hex)).toEqual(bodies.map(hex));
  });

  it('random splits of many frames (seeded, 400 splits) reproduce the frames', () => {
    const rand = prng(40);
    const bodies = Array.from({ length: 60 }, () => randomBytes(rand, randomInt(rand, 3) === 0 ? randomInt(rand, 3000) : randomInt(rand, 20)));
    const stream = concat(bodies.map((b) => encodeFrame(b)));
    const want = bodies.map(hex);
    for (let trial = 0; trial < 400; trial++) {
      const d = new FrameDecoder();
      const got: Uint8Array[] = [];
      for (const c of randomSplit(rand, stream, randomInt(rand, 200))) got.push(...d.push(c));
      expect(got.map(hex)).toEqual(want);
      expect(d.buffered).toBe(0);
    }
  });

  it('a 1 MiB frame in 64 KiB chunks (plus a split header) comes out whole', () => {
    const body = randomBytes(prng(41), MAX_FRAME);
    const f = encodeFrame(body);
    const d = new FrameDecoder();
    const got: Uint8Array[] = [];
    got.push(...d.push(f.subarray(0, 2)));
    for (let o = 2; o < f.length; o += 65536) got.push(...d.push(f.subarray(o, Math.min(f.length, o + 65536))));
    expect(got).toHaveLength(1);
    expect(Buffer.compare(Buffer.from(got[0]!), Buffer.from(body))).toBe(0);
  });

  it('oversize length prefix throws frame_too_large as soon as the 4 length bytes are seen', () => {
    const d = new FrameDecoder();
    expect(d.push(unhex('001000'))).toEqual([]);
    expect(() => d.push(unhex('01'))).toThrow(code('frame_too_large'));
    expect(() => new FrameDecoder().push(unhex('ffffffff'))).toThrow(code('frame_too_large'));
    // exactly the limit is fine
    expect(new FrameDecoder().push(unhex('00100000'))).toEqual([]);
  });

  it('honours a custom max', () => {
    expect(() => new FrameDecoder(10).push(encodeFrame(new Uint8Array(11)))).toThrow(code('frame_too_large'));
    expect(new FrameDecoder(10).push(encodeFrame(new Uint8Array(10)))).toHaveLength(1);
  });
});

describe('framing encoders and JSON', () => {
  it('encodeFrame rejects bodies over 1 MiB', () => {
    expect(encodeFrame(new Uint8Array(MAX_FRAME)).length).toBe(MAX_FRAME + 4);
    expect(() => encodeFrame(new Uint8Array(MAX_FRAME + 1))).toThrow(code('frame_too_large'));
    expect(() => encodeJsonFrame({ s: 'x'.repeat(MAX_FRAME) })).toThrow(code('frame_too_large'));
  });

  it('encodeJson / decodeJson round-trip, including non-ASCII text', () => {
    const v = { type: 'x', text: 'naïve — 日本 🚀', n: [1, 2.5, null, true] };
    expect(decodeJson(encodeJson(v))).toEqual(v);
  });

  it('invalid JSON or UTF-8 → invalid_argument', () => {
    expect(() => decodeJson(ascii('{"a":'))).toThrow(code('invalid_argument'));
    expect(() => decodeJson(new Uint8Array(0))).toThrow(code('invalid_argument'));
    expect(() => decodeJson(new Uint8Array([0x22, 0xff, 0x22]))).toThrow(code('invalid_argument'));
    expect(() => encodeJson(undefined)).toThrow(code('invalid_argument'));
  });
});
