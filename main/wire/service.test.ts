import { describe, it, expect } from 'vitest';
import vectors from '../../test/fixtures/test-vectors.json';
import {
  DATA_TYPE,
  EventDecoder,
  MAX_EVENT_TOPIC,
  MAX_SERVICE_PAYLOAD,
  ServiceFrameDecoder,
  TASK_TYPE,
  dataTypeName,
  decodeFilePayload,
  encodeEvent,
  encodeFilePayload,
  encodeServiceFrame,
  type EventFrame,
  type ServiceFrame,
} from './service';
import { ascii, hex, prng, randomBytes, randomInt, randomSplit, unhex } from './testkit';

const V = vectors.vectors;
const code = (c: string) => expect.objectContaining({ code: c });
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

describe('data exchange vectors (port 1001)', () => {
  const dx = V.dataexchange_1001;

  it('text_frame: TEXT "hello"', () => {
    const [f] = new ServiceFrameDecoder().push(unhex(dx.text_frame.bytes_hex));
    expect(f!.type).toBe(DATA_TYPE.TEXT);
    expect(text(f!.payload)).toBe('hello');
    expect(hex(encodeServiceFrame(DATA_TYPE.TEXT, ascii('hello')))).toBe(dx.text_frame.bytes_hex);
  });

  it('file_frame: FILE "a.txt" containing "hi"', () => {
    const [f] = new ServiceFrameDecoder().push(unhex(dx.file_frame.bytes_hex));
    expect(f!.type).toBe(DATA_TYPE.FILE);
    const file = decodeFilePayload(f!.payload);
    expect(file.name).toBe('a.txt');
    expect(text(file.data)).toBe('hi');
    expect(hex(encodeServiceFrame(DATA_TYPE.FILE, encodeFilePayload('a.txt', ascii('hi'))))).toBe(dx.file_frame.bytes_hex);
  });

  it('server_ack_frame: TEXT "ACK TEXT 5 bytes"', () => {
    const [f] = new ServiceFrameDecoder().push(unhex(dx.server_ack_frame.bytes_hex));
    expect(f!.type).toBe(DATA_TYPE.TEXT);
    expect(text(f!.payload)).toBe(dx.server_ack_frame.text);
    expect(text(f!.payload)).toBe(`ACK ${dataTypeName(DATA_TYPE.TEXT)} 5 bytes`);
    expect(hex(encodeServiceFrame(DATA_TYPE.TEXT, ascii(dx.server_ack_frame.text)))).toBe(dx.server_ack_frame.bytes_hex);
    expect(dx.server_ack_for_file.text).toBe(`ACK ${dataTypeName(DATA_TYPE.FILE)} 2 bytes`);
  });

  it('type names', () => {
    expect([1, 2, 3, 4, 9].map(dataTypeName)).toEqual(['TEXT', 'BINARY', 'JSON', 'FILE', 'UNKNOWN(9)']);
  });
});

describe('task submit vectors (port 1003)', () => {
  const ts = V.tasksubmit_1003;
  it.each([
    ['submit_frame', ts.submit_frame, TASK_TYPE.SUBMIT],
    ['submit_response_frame', ts.submit_response_frame, TASK_TYPE.SUBMIT],
    ['status_update_frame', ts.status_update_frame, TASK_TYPE.STATUS_UPDATE],
  ] as const)('%s', (_n, v, type) => {
    const frames = new ServiceFrameDecoder().push(unhex(v.bytes_hex));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.type).toBe(type);
    expect(text(frames[0]!.payload)).toBe(v.json);
    expect(hex(encodeServiceFrame(type, ascii(v.json)))).toBe(v.bytes_hex);
  });

  it('constants', () => {
    expect(TASK_TYPE).toEqual({ SUBMIT: 1, RESULT: 2, STATUS_UPDATE: 3, SEND_RESULTS: 4 });
    expect(DATA_TYPE).toEqual({ TEXT: 1, BINARY: 2, JSON: 3, FILE: 4 });
  });
});

describe('event stream vectors (port 1002)', () => {
  const es = V.eventstream_1002;
  it('subscribe_all: topic "*", empty payload', () => {
    const evs = new EventDecoder().push(unhex(es.subscribe_all.bytes_hex));
    expect(evs).toEqual([{ topic: '*', payload: new Uint8Array(0) }]);
    expect(hex(encodeEvent('*', new Uint8Array(0)))).toBe(es.subscribe_all.bytes_hex);
  });
  it('publish: topic "status", payload "done"', () => {
    const evs = new EventDecoder().push(unhex(es.publish.bytes_hex));
    expect(evs.map((e) => [e.topic, text(e.payload)])).toEqual([['status', 'done']]);
    expect(hex(encodeEvent('status', ascii('done')))).toBe(es.publish.bytes_hex);
  });
});

describe('service decoders over random splits (seeded, 300 splits each)', () => {
  it('ServiceFrameDecoder', () => {
    const rand = prng(50);
    const frames: ServiceFrame[] = Array.from({ length: 50 }, () => ({
      type: randomInt(rand, 5) === 0 ? 0xffffffff : randomInt(rand, 4) + 1,
      payload: randomBytes(rand, randomInt(rand, 4) === 0 ? randomInt(rand, 5000) : randomInt(rand, 16)),
    }));
    const stream = concat(frames.map((f) => encodeServiceFrame(f.type, f.payload)));
    const want = frames.map((f) => [f.type, hex(f.payload)]);
    for (let trial = 0; trial < 300; trial++) {
      const d = new ServiceFrameDecoder();
      const got: ServiceFrame[] = [];
      for (const c of randomSplit(rand, stream, randomInt(rand, 150))) got.push(...d.push(c));
      expect(got.map((f) => [f.type, hex(f.payload)])).toEqual(want);
      expect(d.buffered).toBe(0);
    }
  });

  it('EventDecoder (with multi-byte UTF-8 topics split mid-character)', () => {
    const rand = prng(51);
    const topics = ['*', 'status', '', 'naïve/日本', 'x'.repeat(MAX_EVENT_TOPIC), '🚀'];
    const events: EventFrame[] = Array.from({ length: 60 }, () => ({
      topic: topics[randomInt(rand, topics.length - 1)]!,
      payload: randomBytes(rand, randomInt(rand, 4) === 0 ? randomInt(rand, 4000) : randomInt(rand, 10)),
    }));
    const stream = concat(events.map((e) => encodeEvent(e.topic, e.payload)));
    const want = events.map((e) => [e.topic, hex(e.payload)]);
    for (let trial = 0; trial < 300; trial++) {
      const d = new EventDecoder();
      const got: EventFrame[] = [];
      for (const c of randomSplit(rand, stream, randomInt(rand, 150))) got.push(...d.push(c));
      expect(got.map((e) => [e.topic, hex(e.payload)])).toEqual(want);
      expect(d.buffered).toBe(0);
    }
  });
});

describe('FILE payload', () => {
  it('round-trips names (UTF-8) and data', () => {
    const rand = prng(52);
    for (const name of ['', 'a.txt', 'résumé.pdf', 'n'.repeat(1000)]) {
      const data = randomBytes(rand, randomInt(rand, 100));
      const got = decodeFilePayload(encodeFilePayload(name, data));
      expect(got.name).toBe(name);
      expect(hex(got.data)).toBe(hex(data));
    }
  });
  it('rejects a truncated name and a name over 65535 bytes', () => {
    expect(() => decodeFilePayload(new Uint8Array([0]))).toThrow(code('short_buffer'));
    expect(() => decodeFilePayload(unhex('0005612e7478'))).toThrow(code('short_buffer'));
    expect(() => encodeFilePayload('x'.repeat(65536), new Uint8Array(0))).toThrow(code('invalid_argument'));
  });
});

describe('service rejections', () => {
  it('service frame payload over 16 MiB → frame_too_large (encode and as soon as the header is seen)', () => {
    expect(() => encodeServiceFrame(1, new Uint8Array(MAX_SERVICE_PAYLOAD + 1))).toThrow(code('frame_too_large'));
    const d = new ServiceFrameDecoder();
    expect(d.push(unhex('00000001010000'))).toEqual([]);
    expect(() => d.push(unhex('01'))).toThrow(code('frame_too_large'));
    // exactly 16 MiB is allowed
    expect(new ServiceFrameDecoder().push(unhex('0000000101000000'))).toEqual([]);
  });

  it('event topic over 1024 bytes / payload over 16 MiB → frame_too_large', () => {
    expect(() => encodeEvent('x'.repeat(MAX_EVENT_TOPIC + 1), new Uint8Array(0))).toThrow(code('frame_too_large'));
    expect(() => encodeEvent('é'.repeat(513), new Uint8Array(0))).toThrow(code('frame_too_large')); // 1026 bytes
    expect(() => encodeEvent('t', new Uint8Array(MAX_SERVICE_PAYLOAD + 1))).toThrow(code('frame_too_large'));
    expect(() => new EventDecoder().push(unhex('0401'))).toThrow(code('frame_too_large'));
    expect(() => new EventDecoder().push(unhex('00012a01000001'))).toThrow(code('frame_too_large'));
  });

  it('encodeServiceFrame rejects a bad type', () => {
    expect(() => encodeServiceFrame(-1, new Uint8Array(0))).toThrow(code('invalid_argument'));
    expect(() => encodeServiceFrame(2 ** 32, new Uint8Array(0))).toThrow(code('invalid_argument'));
  });
});
