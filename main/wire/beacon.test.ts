import { describe, it, expect } from 'vitest';
import vectors from '../../test/fixtures/test-vectors.json';
import { BEACON_TYPE, decodeBeacon, encodeBeacon, type BeaconMessage } from './beacon';
import { formatIp, parseIp } from './ip';
import { hex, prng, randomBytes, unhex } from './testkit';

const B = vectors.vectors.beacon;
const code = (c: string) => expect.objectContaining({ code: c });
const piltSyn = unhex(vectors.vectors.tunnel_plaintext_PILT.bytes_hex);

const cases: { name: string; hex: string; want: BeaconMessage }[] = [
  { name: 'discover', hex: B.discover.bytes_hex, want: { type: 'discover', nodeId: 5 } },
  { name: 'discover_stun_tempsocket', hex: B.discover_stun_tempsocket.bytes_hex, want: { type: 'discover', nodeId: 0 } },
  { name: 'discover_reply_ipv4', hex: B.discover_reply_ipv4.bytes_hex, want: { type: 'discover_reply', ip: '203.0.113.7', port: 4000 } },
  { name: 'discover_reply_ipv6', hex: B.discover_reply_ipv6.bytes_hex, want: { type: 'discover_reply', ip: '2001:db8::1', port: 4000 } },
  { name: 'punch_request', hex: B.punch_request.bytes_hex, want: { type: 'punch_request', requester: 5, target: 7 } },
  { name: 'punch_command', hex: B.punch_command.bytes_hex, want: { type: 'punch_command', ip: '198.51.100.9', port: 5000 } },
  { name: 'relay', hex: B.relay.bytes_hex, want: { type: 'relay', sender: 5, dest: 7, frame: piltSyn } },
  { name: 'relay_deliver', hex: B.relay_deliver.bytes_hex, want: { type: 'relay_deliver', sender: 5, frame: piltSyn } },
  { name: 'gossip_sync', hex: B.gossip_sync.bytes_hex, want: { type: 'sync', beaconId: 1, nodeIds: [5, 7] } },
];

describe('beacon vectors (test-vectors.json)', () => {
  it('covers every beacon vector in the file', () => {
    expect(cases.map((c) => c.name).sort()).toEqual(Object.keys(B).sort());
  });

  it.each(cases)('$name decodes to the stated message and re-encodes to the same bytes', ({ hex: h, want }) => {
    const got = decodeBeacon(unhex(h));
    expect(got).toEqual(want);
    expect(hex(encodeBeacon(got))).toBe(h);
    expect(hex(encodeBeacon(want))).toBe(h);
  });
});

describe('beacon round trips', () => {
  const rand = prng(30);
  const table: BeaconMessage[] = [
    { type: 'discover', nodeId: 0xffffffff },
    { type: 'discover_reply', ip: '0.0.0.0', port: 0 },
    { type: 'discover_reply', ip: '255.255.255.255', port: 65535 },
    { type: 'discover_reply', ip: '::', port: 1 },
    { type: 'discover_reply', ip: '::1', port: 9001 },
    { type: 'discover_reply', ip: 'fe80::1:2', port: 4000 },
    { type: 'punch_command', ip: '2001:db8:0:1:1:1:1:1', port: 5000 },
    { type: 'punch_command', ip: '2001:db8::1:0:0:1', port: 5000 },
    { type: 'punch_command', ip: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', port: 5000 },
    { type: 'punch_request', requester: 0, target: 0xffffffff },
    { type: 'relay', sender: 1, dest: 2, frame: new Uint8Array(0) },
    { type: 'relay', sender: 0xffffffff, dest: 0, frame: randomBytes(rand, 1000) },
    { type: 'relay_deliver', sender: 9, frame: randomBytes(rand, 70) },
    { type: 'sync', beaconId: 3, nodeIds: [] },
    { type: 'sync', beaconId: 0xffffffff, nodeIds: Array.from({ length: 300 }, (_, i) => i * 1000003) },
  ];
  it.each(table)('$type round-trips (%#)', (m) => {
    expect(decodeBeacon(encodeBeacon(m))).toEqual(m);
  });

  it('IPv4 uses 4 bytes, IPv6 16, IPv4-mapped IPv6 4', () => {
    expect(encodeBeacon({ type: 'discover_reply', ip: '1.2.3.4', port: 1 }).length).toBe(8);
    expect(encodeBeacon({ type: 'discover_reply', ip: '2001:db8::1', port: 1 }).length).toBe(20);
    const mapped = encodeBeacon({ type: 'discover_reply', ip: '::ffff:203.0.113.7', port: 4000 });
    expect(hex(mapped)).toBe(B.discover_reply_ipv4.bytes_hex);
  });

  it('a 16-byte IPv4-mapped address on the wire decodes as dotted IPv4', () => {
    const buf = unhex('0210' + '00000000000000000000ffffcb007107' + '0fa0');
    expect(decodeBeacon(buf)).toEqual({ type: 'discover_reply', ip: '203.0.113.7', port: 4000 });
  });

  it('ignores bytes after the fixed fields', () => {
    expect(decodeBeacon(unhex(B.discover.bytes_hex + 'ff'))).toEqual({ type: 'discover', nodeId: 5 });
  });

  it('BEACON_TYPE constants', () => {
    expect(Object.values(BEACON_TYPE)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });
});

describe('IP text helpers', () => {
  it.each([
    ['1.2.3.4', '01020304', '1.2.3.4'],
    ['::', '00000000000000000000000000000000', '::'],
    ['::1', '00000000000000000000000000000001', '::1'],
    ['1::', '00010000000000000000000000000000', '1::'],
    ['2001:DB8::1', '20010db8000000000000000000000001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['2001:0db8:0000:0001:0001:0001:0001:0001', '20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
    ['1:2:3:4:5:6:7::', '00010002000300040005000600070000', '1:2:3:4:5:6:7:0'],
    ['::ffff:1.2.3.4', '01020304', '1.2.3.4'],
    ['::1.2.3.4', '00000000000000000000000001020304', '::102:304'],
    ['64:ff9b::192.0.2.33', '0064ff9b0000000000000000c0000221', '64:ff9b::c000:221'],
    ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304', '1:2:3:4:5:6:102:304'],
  ])('%s → %s → %s', (text, bytes, formatted) => {
    const b = parseIp(text);
    expect(hex(b)).toBe(bytes);
    expect(formatIp(b)).toBe(formatted);
    expect(hex(parseIp(formatted))).toBe(bytes);
  });

  it.each(['', '1.2.3', '1.2.3.256', '01.2.3.4', '1.2.3.4.5', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', 'g::1', '12345::', ':1::', 'host', '[::1]', '::1.2.3'])(
    'rejects %j',
    (text) => {
      expect(() => parseIp(text)).toThrow(code('invalid_argument'));
    },
  );

  it('random 16-byte addresses round-trip through text', () => {
    const rand = prng(31);
    for (let i = 0; i < 500; i++) {
      const b = randomBytes(rand, 16);
      // sprinkle zero runs
      for (let j = 0; j < 8; j++) if (rand() < 0.4) b[2 * j] = b[2 * j + 1] = 0;
      const back = parseIp(formatIp(b));
      expect(hex(back)).toBe(b[10] === 0xff && b[11] === 0xff && b.subarray(0, 10).every((x) => x === 0) ? hex(b.subarray(12)) : hex(b));
    }
  });
});

describe('beacon rejections', () => {
  it('unknown type', () => {
    for (const t of [0x00, 0x08, 0x0f, 0x50]) {
      expect(() => decodeBeacon(new Uint8Array([t, 0, 0, 0, 0]))).toThrow(code('invalid_argument'));
    }
    expect(() => decodeBeacon(new Uint8Array([0x08]))).toThrow(/unknown beacon type: 0x08/);
  });

  it('short messages', () => {
    expect(() => decodeBeacon(new Uint8Array(0))).toThrow(code('short_buffer'));
    for (const c of cases) {
      const b = unhex(c.hex);
      const min = c.want.type === 'relay' ? 9 : c.want.type === 'relay_deliver' ? 5 : b.length;
      expect(() => decodeBeacon(b.subarray(0, min - 1)), c.name).toThrow(code('short_buffer'));
    }
  });

  it('bad ip length', () => {
    expect(() => decodeBeacon(unhex('02050102030405' + '0fa0'))).toThrow(code('invalid_argument'));
  });

  it('encode rejects out-of-range values', () => {
    expect(() => encodeBeacon({ type: 'discover', nodeId: -1 })).toThrow(code('invalid_argument'));
    expect(() => encodeBeacon({ type: 'discover_reply', ip: '1.2.3.4', port: 70000 })).toThrow(code('invalid_argument'));
    expect(() => encodeBeacon({ type: 'punch_command', ip: 'nope', port: 1 })).toThrow(code('invalid_argument'));
    expect(() => encodeBeacon({ type: 'sync', beaconId: 1, nodeIds: new Array<number>(65536).fill(1) })).toThrow(code('invalid_argument'));
  });
});
