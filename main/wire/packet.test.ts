import { describe, it, expect } from 'vitest';
import vectors from '../../test/fixtures/test-vectors.json';
import { parseAddress } from '../../shared/address';
import {
  FLAG_ACK,
  FLAG_FIN,
  FLAG_RST,
  FLAG_SYN,
  HEADER_SIZE,
  PROTO_CONTROL,
  PROTO_DATAGRAM,
  PROTO_STREAM,
  decodePacket,
  encodePacket,
  encodePacketInto,
  flagsToString,
  protocolToString,
  type Packet,
} from './packet';
import { crc32 } from './crc32';
import { ascii, hex, prng, randomBytes, randomInt, unhex } from './testkit';

const V = vectors.vectors;
const A = (n: number) => ({ network: 0, node: n });

function pkt(p: Omit<Packet, 'version'>): Packet {
  return { version: 1, ...p };
}

// Expected fields, read from each vector's description (fact sheet wire.md §3, transport.md).
const cases: { name: string; hex: string; want: Packet }[] = [
  {
    name: 'packet_syn_spec_7_1',
    hex: V.packet_syn_spec_7_1.bytes_hex,
    want: pkt({ flags: FLAG_SYN, protocol: PROTO_STREAM, src: A(1), dst: A(2), srcPort: 49152, dstPort: 1000, seq: 0, ack: 0, window: 512, payload: new Uint8Array(0) }),
  },
  {
    name: 'packet_data_spec_7_2',
    hex: V.packet_data_spec_7_2.bytes_hex,
    want: pkt({ flags: FLAG_ACK, protocol: PROTO_STREAM, src: A(1), dst: A(2), srcPort: 49152, dstPort: 1000, seq: 1, ack: 1, window: 502, payload: ascii('hello') }),
  },
  {
    name: 'packet_synack_reply',
    hex: V.packet_synack_reply.bytes_hex,
    want: pkt({ flags: FLAG_SYN | FLAG_ACK, protocol: PROTO_STREAM, src: A(2), dst: A(1), srcPort: 1000, dstPort: 49152, seq: 0, ack: 1, window: 512, payload: new Uint8Array(0) }),
  },
  {
    name: 'packet_final_ack',
    hex: V.packet_final_ack.bytes_hex,
    want: pkt({ flags: FLAG_ACK, protocol: PROTO_STREAM, src: A(1), dst: A(2), srcPort: 49152, dstPort: 1000, seq: 1, ack: 1, window: 512, payload: new Uint8Array(0) }),
  },
  {
    name: 'packet_fin',
    hex: V.packet_fin.bytes_hex,
    want: pkt({ flags: FLAG_FIN, protocol: PROTO_STREAM, src: A(1), dst: A(2), srcPort: 49152, dstPort: 1000, seq: 6, ack: 0, window: 0, payload: new Uint8Array(0) }),
  },
  {
    name: 'packet_fin_ack',
    hex: V.packet_fin_ack.bytes_hex,
    want: pkt({ flags: FLAG_FIN | FLAG_ACK, protocol: PROTO_STREAM, src: A(2), dst: A(1), srcPort: 1000, dstPort: 49152, seq: 1, ack: 7, window: 0, payload: new Uint8Array(0) }),
  },
  {
    name: 'packet_rst',
    hex: V.packet_rst.bytes_hex,
    want: pkt({ flags: FLAG_RST, protocol: PROTO_STREAM, src: A(2), dst: A(1), srcPort: 1000, dstPort: 49152, seq: 0, ack: 0, window: 0, payload: new Uint8Array(0) }),
  },
  {
    name: 'packet_ack_with_sack',
    hex: V.packet_ack_with_sack.bytes_hex,
    want: pkt({ flags: FLAG_ACK, protocol: PROTO_STREAM, src: A(2), dst: A(1), srcPort: 1000, dstPort: 49152, seq: 1, ack: 1, window: 511, payload: unhex(V.packet_ack_with_sack.sack_payload_hex) }),
  },
  {
    name: 'packet_datagram',
    hex: V.packet_datagram.bytes_hex,
    want: pkt({ flags: 0, protocol: PROTO_DATAGRAM, src: A(5), dst: A(7), srcPort: 49153, dstPort: 5000, seq: 0, ack: 0, window: 0, payload: ascii('hi') }),
  },
];

describe('packet vectors (test-vectors.json)', () => {
  it.each(cases)('$name decodes to the stated fields and re-encodes to the same bytes', ({ hex: h, want }) => {
    const bytes = unhex(h);
    const got = decodePacket(bytes);
    expect(got).toEqual(want);
    expect(hex(encodePacket(got))).toBe(h);
  });

  it('spec 7.1 SYN matches every stated field, checksum and checksum input', () => {
    const v = V.packet_syn_spec_7_1;
    const p = decodePacket(unhex(v.bytes_hex));
    expect(p.version).toBe(v.fields.version);
    expect(flagsToString(p.flags)).toBe('SYN');
    expect(p.protocol).toBe(0x01);
    expect(p.payload.length).toBe(v.fields.payload_length);
    expect(p.src).toEqual(parseAddress(v.fields.src));
    expect(p.dst).toEqual(parseAddress(v.fields.dst));
    expect([p.srcPort, p.dstPort, p.seq, p.ack, p.window]).toEqual([
      v.fields.src_port,
      v.fields.dst_port,
      v.fields.seq,
      v.fields.ack,
      v.fields.window,
    ]);
    expect(crc32(unhex(v.checksum_input_hex)).toString(16).padStart(8, '0')).toBe(v.checksum_hex);
    expect(v.bytes_hex.slice(-8)).toBe(v.checksum_hex);
    expect(unhex(v.bytes_hex).length).toBe(v.length);
  });

  it('checksums of the other vectors sit at offset 30', () => {
    for (const v of [V.packet_data_spec_7_2, V.packet_synack_reply, V.packet_final_ack]) {
      expect(v.bytes_hex.slice(60, 68)).toBe(v.checksum_hex);
    }
  });
});

describe('packet round trips', () => {
  const protocols = [PROTO_STREAM, PROTO_DATAGRAM, PROTO_CONTROL, 0, 0xff];
  it('every flag combination × protocol, with boundary field values', () => {
    const rand = prng(10);
    for (let flags = 0; flags < 16; flags++) {
      for (const protocol of protocols) {
        const p = pkt({
          flags,
          protocol,
          src: { network: randomInt(rand, 0xffff), node: randomInt(rand, 0xffffffff) },
          dst: { network: 0xffff, node: 0xffffffff },
          srcPort: randomInt(rand, 0xffff),
          dstPort: flags & 1 ? 0 : 0xffff,
          seq: flags & 2 ? 0xffffffff : randomInt(rand, 0xffffffff),
          ack: flags & 4 ? 0 : 0xffffffff,
          window: flags & 8 ? 0xffff : 0,
          payload: randomBytes(rand, randomInt(rand, 64)),
        });
        const bytes = encodePacket(p);
        expect(bytes.length).toBe(HEADER_SIZE + p.payload.length);
        expect(decodePacket(bytes)).toEqual(p);
      }
    }
  });

  it('maximum payload (65535 bytes)', () => {
    const p = pkt({ flags: FLAG_ACK, protocol: PROTO_STREAM, src: A(1), dst: A(2), srcPort: 1, dstPort: 2, seq: 3, ack: 4, window: 5, payload: randomBytes(prng(11), 0xffff) });
    const got = decodePacket(encodePacket(p));
    expect(hex(got.payload)).toBe(hex(p.payload));
    expect({ ...got, payload: null }).toEqual({ ...p, payload: null });
  });

  it('version defaults to 1', () => {
    const { version: _v, ...rest } = cases[0]!.want;
    expect(hex(encodePacket(rest))).toBe(cases[0]!.hex);
  });

  it('encodePacketInto writes at an offset, returns the size and leaves other bytes alone', () => {
    const want = cases[1]!;
    const out = new Uint8Array(100).fill(0xaa);
    const n = encodePacketInto(want.want, out, 7);
    expect(n).toBe(39);
    expect(hex(out.subarray(7, 7 + n))).toBe(want.hex);
    expect(out.subarray(0, 7).every((x) => x === 0xaa)).toBe(true);
    expect(out.subarray(7 + n).every((x) => x === 0xaa)).toBe(true);
    // and decodes from a subarray view
    expect(decodePacket(out.subarray(7, 7 + n))).toEqual(want.want);
  });

  it('decoded payload is a view into the input', () => {
    const bytes = unhex(cases[1]!.hex);
    const p = decodePacket(bytes);
    expect(p.payload.buffer).toBe(bytes.buffer);
    expect(p.payload.byteOffset).toBe(HEADER_SIZE);
  });

  it('ignores trailing bytes beyond 34 + length (reference behaviour)', () => {
    const bytes = unhex(cases[1]!.hex + 'deadbeef');
    const p = decodePacket(bytes);
    expect(p).toEqual(cases[1]!.want);
  });

  it('flagsToString / protocolToString', () => {
    expect(flagsToString(FLAG_SYN | FLAG_ACK)).toBe('SYN|ACK');
    expect(flagsToString(FLAG_FIN | FLAG_ACK)).toBe('ACK|FIN');
    expect(flagsToString(FLAG_RST)).toBe('RST');
    expect(flagsToString(0)).toBe('none');
    expect(flagsToString(0xf)).toBe('SYN|ACK|FIN|RST');
    expect(protocolToString(PROTO_STREAM)).toBe('stream');
    expect(protocolToString(0x09)).toBe('0x09');
  });
});

describe('packet rejections', () => {
  const good = unhex(V.packet_data_spec_7_2.bytes_hex);

  it('bad CRC: flipping any single byte is detected', () => {
    for (let i = 0; i < good.length; i++) {
      if (i === 0 || i === 2 || i === 3) continue; // version / length bytes give other errors
      const b = good.slice();
      b[i]! ^= 0x01;
      expect(() => decodePacket(b), `byte ${i}`).toThrow(expect.objectContaining({ code: 'bad_checksum' }));
    }
  });

  it('truncated header → short_buffer', () => {
    for (let n = 0; n < HEADER_SIZE; n++) {
      expect(() => decodePacket(good.subarray(0, n))).toThrow(expect.objectContaining({ code: 'short_buffer' }));
    }
  });

  it('payload length larger than the buffer → short_buffer', () => {
    expect(() => decodePacket(good.subarray(0, good.length - 1))).toThrow(expect.objectContaining({ code: 'short_buffer' }));
    const b = good.slice();
    b[3] = 6; // claims 6 payload bytes, 5 present
    expect(() => decodePacket(b)).toThrow(expect.objectContaining({ code: 'short_buffer' }));
  });

  it('payload length smaller than stated bytes changes the checksummed range → bad_checksum', () => {
    const b = good.slice();
    b[3] = 4;
    expect(() => decodePacket(b)).toThrow(expect.objectContaining({ code: 'bad_checksum' }));
  });

  it('version nibble ≠ 1 → bad_version', () => {
    for (const ver of [0, 2, 15]) {
      const b = good.slice();
      b[0] = (ver << 4) | (b[0]! & 0xf);
      expect(() => decodePacket(b)).toThrow(expect.objectContaining({ code: 'bad_version' }));
    }
  });

  it('encode rejects out-of-range fields and oversize payloads', () => {
    const base = cases[0]!.want;
    const bad: Partial<Packet>[] = [
      { flags: 16 },
      { protocol: 256 },
      { srcPort: 65536 },
      { dstPort: -1 },
      { seq: 2 ** 32 },
      { ack: 1.5 },
      { window: 65536 },
      { src: { network: 65536, node: 0 } },
      { dst: { network: 0, node: 2 ** 32 } },
      { version: 16 },
      { payload: new Uint8Array(65536) },
    ];
    for (const patch of bad) {
      expect(() => encodePacket({ ...base, ...patch })).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    }
  });

  it('encodePacketInto with no room → short_buffer', () => {
    expect(() => encodePacketInto(cases[1]!.want, new Uint8Array(38), 0)).toThrow(expect.objectContaining({ code: 'short_buffer' }));
    expect(() => encodePacketInto(cases[1]!.want, new Uint8Array(39), 1)).toThrow(expect.objectContaining({ code: 'short_buffer' }));
  });
});
