/**
 * Property-based fuzzing of every wire decoder (issue 10, "Fuzzing"): random bytes and mutations of
 * the test vectors (bit flips, truncation, extension, length fields set to huge values). Each decoder
 * either returns a value or throws a typed PilotError — never a TypeError/RangeError — and where an
 * encoder exists, what was decoded encodes back to the bytes it came from (or decodes to the same
 * value again, where the wire has several spellings of one value). Runs per property: FUZZ_RUNS.
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { PilotError } from '../../shared/errors';
import { decodeAddress, encodeAddress, parseAddress, formatAddress } from '../../shared/address';
import { decodePacket, encodePacket, HEADER_SIZE, type Packet } from '../../main/wire/packet';
import {
  classifyDatagram,
  decodePILA,
  decodePILK,
  decodePILS,
  decodePILT,
  encodePILA,
  encodePILK,
  encodePILS,
  encodePILT,
  PILA_SIZE,
  PILK_SIZE,
} from '../../main/wire/tunnel';
import { decodeBeacon, encodeBeacon, type BeaconMessage } from '../../main/wire/beacon';
import { decodeJson, encodeFrame, FrameDecoder } from '../../main/wire/framing';
import { decodeIpc, encodeIpc, parseHandshakeBody, type IpcMessage } from '../../main/wire/ipc';
import { decodeFilePayload, encodeEvent, encodeFilePayload, encodeServiceFrame, EventDecoder, ServiceFrameDecoder } from '../../main/wire/service';
import { decodeSack, encodeSack } from '../../main/wire/sack';
import { formatIp, parseIp } from '../../main/wire/ip';
import { FUZZ_RUNS, FUZZ_TIMEOUT, HOSTILE_U32, mutatedArb, vectorSeeds } from './mutate';

const params = { numRuns: FUZZ_RUNS };
vi.setConfig({ testTimeout: FUZZ_TIMEOUT });
const SEEDS = vectorSeeds();
const ALL = [...SEEDS.values()];
const seedsWhere = (re: RegExp): Uint8Array[] => [...SEEDS].filter(([k]) => re.test(k)).map(([, v]) => v);

/** Runs a decoder: its value, or the PilotError it threw. Anything else thrown fails the property. */
function attempt<T>(f: () => T): { ok: true; value: T } | { ok: false; error: PilotError } {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    if (e instanceof PilotError) return { ok: false, error: e };
    throw e;
  }
}

const eq = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

// ---- packet ------------------------------------------------------------------------------------

describe('fuzz: packet header (34 bytes + CRC-32)', () => {
  const seeds = seedsWhere(/^vectors\.packet_.*bytes_hex$/);

  it('has packet seeds from the vectors', () => expect(seeds.length).toBeGreaterThanOrEqual(8));

  it('decodes or throws PilotError; what decodes re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(mutatedArb(seeds), (b) => {
        const r = attempt(() => decodePacket(b));
        if (r.ok) expect(eq(encodePacket(r.value), b.subarray(0, HEADER_SIZE + r.value.payload.length))).toBe(true);
      }),
      params,
    );
  });

  it('any valid packet round-trips; a single bit flip in it is always rejected (CRC-32 catches every 1-bit error)', () => {
    const packetArb: fc.Arbitrary<Packet> = fc.record({
      version: fc.constant(1),
      flags: fc.nat({ max: 15 }),
      protocol: fc.nat({ max: 255 }),
      src: fc.record({ network: fc.nat({ max: 0xffff }), node: fc.nat({ max: 0xffffffff }) }),
      dst: fc.record({ network: fc.nat({ max: 0xffff }), node: fc.nat({ max: 0xffffffff }) }),
      srcPort: fc.nat({ max: 0xffff }),
      dstPort: fc.nat({ max: 0xffff }),
      seq: fc.nat({ max: 0xffffffff }),
      ack: fc.nat({ max: 0xffffffff }),
      window: fc.nat({ max: 0xffff }),
      payload: fc.uint8Array({ maxLength: 256 }),
    });
    fc.assert(
      fc.property(packetArb, fc.nat(), fc.nat({ max: 7 }), (p, at, bit) => {
        const bytes = encodePacket(p);
        expect(decodePacket(bytes)).toEqual(p);
        const bad = Uint8Array.from(bytes);
        const i = at % bad.length;
        bad[i] = bad[i]! ^ (1 << bit);
        const r = attempt(() => decodePacket(bad));
        expect(r.ok).toBe(false);
      }),
      params,
    );
  });

  it('a payload length field claiming more than the datagram holds is short_buffer, never a read past the end', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: HEADER_SIZE, maxLength: 200 }), fc.integer({ min: 1, max: 0xffff }), (b, extra) => {
        b[0] = 0x10;
        const len = Math.min(0xffff, b.length - HEADER_SIZE + extra);
        b[2] = len >>> 8;
        b[3] = len;
        const r = attempt(() => decodePacket(b));
        expect(r.ok ? 'ok' : r.error.code).toBe('short_buffer');
      }),
      params,
    );
  });
});

// ---- tunnel frames -----------------------------------------------------------------------------

describe('fuzz: tunnel frames (PILT, PILS, PILK, PILA, PILP)', () => {
  const u32 = fc.oneof(fc.constantFrom(...HOSTILE_U32), fc.nat({ max: 0xffffffff }));
  const pila = fc.record({ sender: u32, x25519Public: fc.uint8Array({ minLength: 32, maxLength: 32 }), ed25519Public: fc.uint8Array({ minLength: 32, maxLength: 32 }), signature: fc.uint8Array({ minLength: 64, maxLength: 64 }) });
  const pilk = fc.record({ sender: u32, x25519Public: fc.uint8Array({ minLength: 32, maxLength: 32 }) });
  const pils = fc.tuple(u32, fc.uint8Array({ minLength: 12, maxLength: 12 }), fc.uint8Array({ minLength: 16, maxLength: 300 }));
  const frames = fc.oneof(
    pila.map(encodePILA),
    pilk.map(encodePILK),
    pils.map(([s, n, c]) => encodePILS(s, n, c)),
    fc.constantFrom(...seedsWhere(/^vectors\.packet_.*bytes_hex$/)).map(encodePILT),
    fc.constant(Uint8Array.of(0x50, 0x49, 0x4c, 0x50)),
  );
  const seedsArb = fc.array(frames, { minLength: 8, maxLength: 8 });

  it('valid frames round-trip exactly', () => {
    fc.assert(
      fc.property(pila, pilk, pils, (a, k, [s, n, c]) => {
        const da = decodePILA(encodePILA(a));
        expect([da.sender, eq(da.x25519Public, a.x25519Public), eq(da.ed25519Public, a.ed25519Public), eq(da.signature, a.signature)]).toEqual([a.sender, true, true, true]);
        const dk = decodePILK(encodePILK(k));
        expect([dk.sender, eq(dk.x25519Public, k.x25519Public)]).toEqual([k.sender, true]);
        const f = decodePILS(encodePILS(s, n, c));
        expect([f.sender, eq(f.nonce, n), eq(f.sealed, c)]).toEqual([s, true, true]);
      }),
      params,
    );
  });

  it('mutated frames: classify never throws; each decoder returns or throws PilotError; what decodes re-encodes', () => {
    fc.assert(
      fc.property(seedsArb.chain((s) => mutatedArb([...s, ...ALL], 1500)), (b) => {
        const kind = classifyDatagram(b);
        expect(['beacon', 'PILT', 'PILS', 'PILK', 'PILA', 'PILP', 'unknown']).toContain(kind);
        const t = attempt(() => decodePILT(b));
        if (t.ok) expect(eq(encodePILT(t.value), b)).toBe(true);
        const s = attempt(() => decodePILS(b));
        if (s.ok) expect(eq(encodePILS(s.value.sender, s.value.nonce, s.value.sealed), b)).toBe(true);
        const k = attempt(() => decodePILK(b));
        if (k.ok) expect(eq(encodePILK(k.value), b.subarray(0, PILK_SIZE))).toBe(true);
        const a = attempt(() => decodePILA(b));
        if (a.ok) expect(eq(encodePILA(a.value), b.subarray(0, PILA_SIZE))).toBe(true);
        // A frame is decodable by at most the decoder its magic names.
        expect([t.ok, s.ok, k.ok, a.ok].filter(Boolean).length).toBeLessThanOrEqual(1);
      }),
      params,
    );
  });
});

// ---- beacon ------------------------------------------------------------------------------------

describe('fuzz: beacon messages', () => {
  const u32 = fc.oneof(fc.constantFrom(...HOSTILE_U32), fc.nat({ max: 0xffffffff }));
  const ip = fc.oneof(fc.ipV4(), fc.ipV6());
  const port = fc.nat({ max: 0xffff });
  const msg: fc.Arbitrary<BeaconMessage> = fc.oneof(
    fc.record({ type: fc.constant('discover' as const), nodeId: u32 }),
    fc.record({ type: fc.constant('discover_reply' as const), ip, port }),
    fc.record({ type: fc.constant('punch_request' as const), requester: u32, target: u32 }),
    fc.record({ type: fc.constant('punch_command' as const), ip, port }),
    fc.record({ type: fc.constant('relay' as const), sender: u32, dest: u32, frame: fc.uint8Array({ maxLength: 200 }) }),
    fc.record({ type: fc.constant('relay_deliver' as const), sender: u32, frame: fc.uint8Array({ maxLength: 200 }) }),
    fc.record({ type: fc.constant('sync' as const), beaconId: u32, nodeIds: fc.array(u32, { maxLength: 40 }) }),
  );

  it('valid messages: decode(encode(m)) is m, up to the canonical text of the IP', () => {
    fc.assert(
      fc.property(msg, (m) => {
        const d = decodeBeacon(encodeBeacon(m));
        if ('ip' in m && 'ip' in d) expect({ ...d, ip: formatIp(parseIp(m.ip)) }).toEqual({ ...m, ip: formatIp(parseIp(m.ip)) });
        else expect(d).toEqual(m);
      }),
      params,
    );
  });

  it('mutated messages (the sync count set to 65535, ip lengths, truncations) decode or throw PilotError; decode∘encode is stable', () => {
    fc.assert(
      fc.property(fc.array(msg, { minLength: 6, maxLength: 6 }).chain((ms) => mutatedArb(ms.map(encodeBeacon), 600)), (b) => {
        const r = attempt(() => decodeBeacon(b));
        if (r.ok) expect(decodeBeacon(encodeBeacon(r.value))).toEqual(r.value);
      }),
      params,
    );
  });
});

// ---- framing and JSON --------------------------------------------------------------------------

describe('fuzz: length-prefixed framing (registry, IPC)', () => {
  it('a byte stream split anywhere gives the same frames as one push; a huge claimed length throws at once and allocates nothing', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.option(fc.constantFrom(...HOSTILE_U32.filter((v) => v > 4096)), { nil: undefined }),
        (bodies, cuts, tail) => {
          const max = 4096;
          let stream = Uint8Array.from(bodies.flatMap((b) => [...encodeFrame(b)]));
          if (tail !== undefined) stream = Uint8Array.from([...stream, tail >>> 24, (tail >>> 16) & 0xff, (tail >>> 8) & 0xff, tail & 0xff, 1, 2, 3]);
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const chunks: Uint8Array[] = [];
          let prev = 0;
          for (const p of [...points, stream.length]) {
            chunks.push(stream.slice(prev, p));
            prev = p;
          }
          const d = new FrameDecoder(max);
          const got: Uint8Array[] = [];
          let error: PilotError | undefined;
          let pushed = 0;
          for (const c of chunks) {
            const r = attempt(() => d.push(c));
            pushed += c.length;
            if (!r.ok) {
              error = r.error;
              break;
            }
            got.push(...r.value.map((f) => Uint8Array.from(f)));
            // Nothing is buffered beyond what arrived: a claimed length is never allocated up front.
            expect(d.buffered).toBeLessThanOrEqual(pushed);
          }
          expect(got.map((g) => [...g])).toEqual(bodies.slice(0, got.length).map((g) => [...g]));
          if (tail !== undefined) expect(error?.code).toBe('frame_too_large');
          else expect(error).toBeUndefined();
          if (error === undefined) expect(got.length).toBe(bodies.length);
        },
      ),
      params,
    );
  });

  it('random and mutated streams: push returns frames or throws frame_too_large', () => {
    fc.assert(
      fc.property(fc.array(mutatedArb(ALL, 400), { maxLength: 6 }), (chunks) => {
        const d = new FrameDecoder(1024);
        for (const c of chunks) {
          const r = attempt(() => d.push(c));
          if (!r.ok) {
            expect(r.error.code).toBe('frame_too_large');
            return;
          }
          for (const f of r.value) expect(f.length).toBeLessThanOrEqual(1024);
        }
      }),
      params,
    );
  });

  it('decodeJson: any bytes give a value or invalid_argument; JSON text of a value gives it back', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.jsonValue().map((v) => new TextEncoder().encode(JSON.stringify(v)))), (b) => {
        const r = attempt(() => decodeJson(b));
        if (!r.ok) expect(r.error.code).toBe('invalid_argument');
      }),
      params,
    );
  });
});

// ---- IPC ---------------------------------------------------------------------------------------

describe('fuzz: IPC messages', () => {
  const addr = fc.record({ network: fc.nat({ max: 0xffff }), node: fc.nat({ max: 0xffffffff }) });
  const p16 = fc.nat({ max: 0xffff });
  const u32 = fc.nat({ max: 0xffffffff });
  const data = fc.uint8Array({ maxLength: 64 });
  const text = fc.string({ maxLength: 40 });
  const msg: fc.Arbitrary<IpcMessage> = fc.oneof(
    fc.record({ cmd: fc.constantFrom('bind' as const, 'bind_ok' as const), port: p16 }),
    fc.record({ cmd: fc.constant('dial' as const), addr, port: p16 }),
    fc.record({ cmd: fc.constantFrom('dial_ok' as const, 'close' as const, 'close_ok' as const), connId: u32 }),
    fc.record({ cmd: fc.constant('accept' as const), localPort: p16, connId: u32, remote: addr, remotePort: p16 }),
    fc.record({ cmd: fc.constantFrom('send' as const, 'recv' as const), connId: u32, data }),
    fc.record({ cmd: fc.constant('error' as const), code: p16, message: text }),
    fc.record({ cmd: fc.constant('send_to' as const), addr, port: p16, data }),
    fc.record({ cmd: fc.constant('recv_from' as const), src: addr, srcPort: p16, dstPort: p16, data }),
    fc.record({ cmd: fc.constantFrom('info' as const, 'deregister' as const) }),
    fc.record({ cmd: fc.constant('handshake' as const), sub: fc.nat({ max: 255 }), body: data }),
    fc.record({ cmd: fc.constantFrom('resolve_hostname' as const, 'set_hostname' as const), hostname: text }),
    fc.record({ cmd: fc.constant('set_webhook' as const), url: text }),
    fc.record({ cmd: fc.constant('set_visibility' as const), public: fc.boolean() }),
    fc.record({ cmd: fc.constant('set_task_exec' as const), enabled: fc.boolean() }),
    fc.record({ cmd: fc.constant('set_tags' as const), tags: fc.array(text, { maxLength: 5 }) }),
    fc.record({ cmd: fc.constantFrom('info_ok' as const, 'ext_event' as const, 'set_tags_ok' as const), json: data }),
    fc.record({ cmd: fc.constantFrom('ext_request' as const, 'ext_response' as const), requestId: u32, json: data }),
  );

  it('mutated messages decode or throw PilotError; decode∘encode is stable; handshake bodies always parse', () => {
    fc.assert(
      fc.property(fc.array(msg, { minLength: 8, maxLength: 8 }).chain((ms) => mutatedArb(ms.map(encodeIpc), 300)), (b) => {
        const r = attempt(() => decodeIpc(b));
        if (!r.ok) return;
        expect(decodeIpc(encodeIpc(r.value))).toEqual(r.value);
        if (r.value.cmd === 'handshake') expect(typeof parseHandshakeBody(r.value.body).text).toBe('string');
      }),
      params,
    );
  });
});

// ---- service frames, events, FILE payloads -----------------------------------------------------

describe('fuzz: service frames (ports 1001/1003), event stream (1002), FILE payloads', () => {
  const serviceSeeds = fc.array(
    fc.oneof(
      fc.tuple(fc.nat({ max: 0xffffffff }), fc.uint8Array({ maxLength: 100 })).map(([t, p]) => encodeServiceFrame(t, p)),
      fc.tuple(fc.string({ maxLength: 30 }), fc.uint8Array({ maxLength: 100 })).map(([t, p]) => encodeEvent(t, p)),
      fc.tuple(fc.string({ maxLength: 30 }), fc.uint8Array({ maxLength: 100 })).map(([n, d]) => encodeFilePayload(n, d)),
    ),
    { minLength: 6, maxLength: 6 },
  );

  it('the buffering decoders return frames or throw frame_too_large; nothing buffered beyond what arrived', () => {
    fc.assert(
      fc.property(serviceSeeds.chain((s) => fc.array(mutatedArb(s, 300), { maxLength: 5 })), (chunks) => {
        const sd = new ServiceFrameDecoder(4096);
        const ed = new EventDecoder(64, 4096);
        let sOk = true;
        let eOk = true;
        let pushed = 0;
        for (const c of chunks) {
          pushed += c.length;
          if (sOk) {
            const r = attempt(() => sd.push(c));
            if (r.ok) r.value.forEach((f) => expect(f.payload.length).toBeLessThanOrEqual(4096));
            else expect(r.error.code).toBe('frame_too_large');
            sOk = r.ok;
            if (r.ok) expect(sd.buffered).toBeLessThanOrEqual(pushed);
          }
          if (eOk) {
            const r = attempt(() => ed.push(c));
            if (!r.ok) expect(r.error.code).toBe('frame_too_large');
            eOk = r.ok;
            if (r.ok) expect(ed.buffered).toBeLessThanOrEqual(pushed);
          }
        }
      }),
      params,
    );
  });

  it('decodeFilePayload returns or throws short_buffer; a decoded payload re-encodes to itself when the name is valid UTF-8', () => {
    fc.assert(
      fc.property(serviceSeeds.chain((s) => mutatedArb(s, 200)), (b) => {
        const r = attempt(() => decodeFilePayload(b));
        if (!r.ok) {
          expect(r.error.code).toBe('short_buffer');
          return;
        }
        const again = decodeFilePayload(encodeFilePayload(r.value.name, r.value.data));
        expect(again.name).toBe(r.value.name);
        expect(eq(again.data, r.value.data)).toBe(true);
      }),
      params,
    );
  });
});

// ---- SACK --------------------------------------------------------------------------------------

describe('fuzz: SACK blocks', () => {
  const seeds = seedsWhere(/sack.*_hex$/);

  it('has the SACK seed from the vectors', () => expect(seeds.length).toBeGreaterThanOrEqual(1));

  it('mutated payloads are a block list or data (undefined), never an exception; a block list re-encodes to its bytes', () => {
    const blocks = fc.array(fc.record({ left: fc.nat({ max: 0xffffffff }), right: fc.nat({ max: 0xffffffff }) }), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(fc.array(blocks, { minLength: 4, maxLength: 4 }).chain((bs) => mutatedArb([...seeds, ...bs.map(encodeSack)], 100)), (b) => {
        const r = decodeSack(b);
        if (r) expect(eq(encodeSack(r), b.subarray(0, 5 + 8 * r.length))).toBe(true);
      }),
      params,
    );
  });
});

// ---- addresses and IP text ---------------------------------------------------------------------

describe('fuzz: address and IP text', () => {
  it('parseAddress: any string gives an address that formats back, or invalid_argument', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 24 }), fc.record({ network: fc.nat({ max: 0xffff }), node: fc.nat({ max: 0xffffffff }) }).map(formatAddress)), (s) => {
        const r = attempt(() => parseAddress(s));
        if (r.ok) expect(parseAddress(formatAddress(r.value))).toEqual(r.value);
        else expect(r.error.code).toBe('invalid_argument');
      }),
      params,
    );
  });

  it('decodeAddress: 6+ bytes decode and re-encode; fewer are short_buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 10 }), (b) => {
        const r = attempt(() => decodeAddress(b));
        if (r.ok) expect(eq(encodeAddress(r.value), b.subarray(0, 6))).toBe(true);
        else expect(r.error.code).toBe('short_buffer');
      }),
      params,
    );
  });

  it('parseIp / formatIp: any text parses to 4/16 bytes whose text parses to the same bytes, or invalid_argument', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 45 }), fc.ipV4(), fc.ipV6(), fc.ipV4Extended()), fc.uint8Array({ maxLength: 20 }), (s, raw) => {
        const r = attempt(() => parseIp(s));
        if (r.ok) expect(parseIp(formatIp(r.value))).toEqual(r.value);
        else expect(r.error.code).toBe('invalid_argument');
        const f = attempt(() => formatIp(raw));
        if (!f.ok) expect(f.error.code).toBe('invalid_argument');
      }),
      params,
    );
  });
});
