import { describe, it, expect } from 'vitest';
import vectors from '../../test/fixtures/test-vectors.json';
import { FrameDecoder, encodeFrame } from './framing';
import {
  HANDSHAKE_SUB,
  IPC_CMD,
  IPC_CMD_BYTE,
  decodeIpc,
  encodeIpc,
  handshakeBody,
  ipcCommandName,
  ipcJson,
  jsonBytes,
  parseHandshakeBody,
  type IpcMessage,
} from './ipc';
import { ascii, hex, prng, randomBytes, randomSplit, unhex } from './testkit';

const I = vectors.vectors.ipc;
const code = (c: string) => expect.objectContaining({ code: c });
const A = (n: number) => ({ network: 0, node: n });

/** Strips the u32 length prefix with the real FrameDecoder. */
function unframe(h: string): Uint8Array {
  const frames = new FrameDecoder().push(unhex(h));
  expect(frames).toHaveLength(1);
  return frames[0]!;
}

const cases: { name: keyof typeof I; want: IpcMessage }[] = [
  { name: 'info_request', want: { cmd: 'info' } },
  { name: 'bind_1000', want: { cmd: 'bind', port: 1000 } },
  { name: 'bind_ok_1000', want: { cmd: 'bind_ok', port: 1000 } },
  { name: 'dial_echo_on_node7', want: { cmd: 'dial', addr: A(7), port: 7 } },
  { name: 'dial_ok_conn3', want: { cmd: 'dial_ok', connId: 3 } },
  { name: 'accept_push', want: { cmd: 'accept', localPort: 1000, connId: 4, remote: A(5), remotePort: 49152 } },
  { name: 'send_conn3_ping0', want: { cmd: 'send', connId: 3, data: ascii('ping-0') } },
  { name: 'recv_push_conn3', want: { cmd: 'recv', connId: 3, data: ascii('ping-0') } },
  { name: 'close_conn3', want: { cmd: 'close', connId: 3 } },
  { name: 'close_ok_conn3', want: { cmd: 'close_ok', connId: 3 } },
  { name: 'error_msg', want: { cmd: 'error', code: 1, message: 'dial timeout' } },
  { name: 'sendto_datagram', want: { cmd: 'send_to', addr: A(7), port: 5000, data: ascii('hi') } },
  { name: 'recvfrom_push', want: { cmd: 'recv_from', src: A(5), srcPort: 49153, dstPort: 5000, data: ascii('hi') } },
  { name: 'handshake_send', want: { cmd: 'handshake', sub: HANDSHAKE_SUB.SEND, body: handshakeBody(7, 'want to collaborate') } },
  { name: 'handshake_pending', want: { cmd: 'handshake', sub: HANDSHAKE_SUB.PENDING, body: new Uint8Array(0) } },
  { name: 'set_visibility_public', want: { cmd: 'set_visibility', public: true } },
  { name: 'set_tags', want: { cmd: 'set_tags', tags: ['web-server', 'api'] } },
];

describe('IPC vectors (test-vectors.json)', () => {
  it('covers every IPC vector in the file', () => {
    const names = Object.keys(I).filter((k) => k !== 'framing');
    expect(cases.map((c) => c.name).sort()).toEqual(names.sort());
  });

  it.each(cases)('$name decodes to the stated message and re-encodes to the same bytes', ({ name, want }) => {
    const h = (I[name] as { bytes_hex: string }).bytes_hex;
    const msg = unframe(h);
    const got = decodeIpc(msg);
    expect(got).toEqual(want);
    expect(hex(encodeFrame(encodeIpc(got)))).toBe(h);
    expect(hex(encodeFrame(encodeIpc(want)))).toBe(h);
  });

  it('all IPC vectors concatenated and split at random points decode in order', () => {
    const rand = prng(60);
    const stream = new Uint8Array(Buffer.concat(cases.map((c) => unhex((I[c.name] as { bytes_hex: string }).bytes_hex))));
    for (let t = 0; t < 200; t++) {
      const d = new FrameDecoder();
      const got: IpcMessage[] = [];
      for (const c of randomSplit(rand, stream, Math.floor(rand() * 60))) got.push(...d.push(c).map(decodeIpc));
      expect(got).toEqual(cases.map((c) => c.want));
    }
  });

  it('handshake body helper', () => {
    const m = decodeIpc(unframe(I.handshake_send.bytes_hex));
    if (m.cmd !== 'handshake') throw new Error('expected handshake');
    expect(parseHandshakeBody(m.body)).toEqual({ nodeId: 7, text: 'want to collaborate' });
    expect(parseHandshakeBody(new Uint8Array(3))).toEqual({ nodeId: undefined, text: '' });
  });
});

describe('IPC round trips: every message kind', () => {
  const rand = prng(61);
  const json = jsonBytes({ type: 'x', node_id: 5, tags: ['a'] });
  const table: IpcMessage[] = [
    { cmd: 'bind', port: 0 },
    { cmd: 'bind_ok', port: 65535 },
    { cmd: 'dial', addr: { network: 0xffff, node: 0xffffffff }, port: 443 },
    { cmd: 'dial_ok', connId: 0xffffffff },
    { cmd: 'accept', localPort: 1, connId: 2, remote: { network: 3, node: 4 }, remotePort: 5 },
    { cmd: 'send', connId: 1, data: new Uint8Array(0) },
    { cmd: 'send', connId: 1, data: randomBytes(rand, 4096) },
    { cmd: 'recv', connId: 9, data: randomBytes(rand, 100) },
    { cmd: 'close', connId: 0 },
    { cmd: 'close_ok', connId: 77 },
    { cmd: 'error', code: 1, message: 'port 1000 already bound' },
    { cmd: 'error', code: 1, message: '' },
    { cmd: 'send_to', addr: A(7), port: 5000, data: randomBytes(rand, 10) },
    { cmd: 'recv_from', src: { network: 1, node: 0xf2910004 }, srcPort: 49153, dstPort: 5000, data: new Uint8Array(0) },
    { cmd: 'info' },
    { cmd: 'info_ok', json },
    { cmd: 'handshake', sub: HANDSHAKE_SUB.APPROVE, body: handshakeBody(5) },
    { cmd: 'handshake', sub: HANDSHAKE_SUB.REJECT, body: handshakeBody(5, 'no thanks') },
    { cmd: 'handshake', sub: HANDSHAKE_SUB.TRUSTED, body: new Uint8Array(0) },
    { cmd: 'handshake', sub: HANDSHAKE_SUB.REVOKE, body: handshakeBody(0xffffffff) },
    { cmd: 'handshake_ok', json },
    { cmd: 'resolve_hostname', hostname: 'alpha' },
    { cmd: 'resolve_hostname_ok', json },
    { cmd: 'set_hostname', hostname: '' },
    { cmd: 'set_hostname', hostname: 'bêta' },
    { cmd: 'set_hostname_ok', json },
    { cmd: 'set_visibility', public: false },
    { cmd: 'set_visibility', public: true },
    { cmd: 'set_visibility_ok', json },
    { cmd: 'deregister' },
    { cmd: 'deregister_ok', json: jsonBytes({ type: 'deregister_ok' }) },
    { cmd: 'set_tags', tags: [] },
    { cmd: 'set_tags', tags: ['a', 'b', 'c', 'd'] },
    { cmd: 'set_tags_ok', json },
    { cmd: 'set_webhook', url: 'http://127.0.0.1:8080/hook' },
    { cmd: 'set_webhook', url: '' },
    { cmd: 'set_webhook_ok', json: jsonBytes({ webhook: '' }) },
    { cmd: 'set_task_exec', enabled: true },
    { cmd: 'set_task_exec', enabled: false },
    { cmd: 'set_task_exec_ok', json },
    { cmd: 'ext_request', requestId: 0, json: jsonBytes({ method: 'peers.list', params: {} }) },
    { cmd: 'ext_response', requestId: 0xffffffff, json: jsonBytes({ ok: true, result: [1, 2] }) },
    { cmd: 'ext_event', json: jsonBytes({ event: 'peer.seen', node: 7 }) },
  ];

  it('the table covers every command', () => {
    expect(new Set(table.map((m) => m.cmd))).toEqual(new Set(Object.keys(IPC_CMD_BYTE)));
  });

  it.each(table)('$cmd (%#)', (m) => {
    const bytes = encodeIpc(m);
    expect(bytes[0]).toBe(IPC_CMD_BYTE[m.cmd]);
    expect(decodeIpc(bytes)).toEqual(m);
  });

  it('ext payload layout: u32 requestId ‖ UTF-8 JSON; ext_event is bare JSON', () => {
    expect(hex(encodeIpc({ cmd: 'ext_request', requestId: 0x01020304, json: ascii('{}') }))).toBe('40010203047b7d');
    expect(hex(encodeIpc({ cmd: 'ext_response', requestId: 1, json: ascii('[]') }))).toBe('41000000015b5d');
    expect(hex(encodeIpc({ cmd: 'ext_event', json: ascii('1') }))).toBe('4231');
    const m = decodeIpc(unhex('41000000017b226f6b223a747275657d'));
    expect(m).toEqual({ cmd: 'ext_response', requestId: 1, json: ascii('{"ok":true}') });
    if (m.cmd !== 'ext_response') throw new Error('kind');
    expect(ipcJson(m.json)).toEqual({ ok: true });
  });

  it('command bytes 0x01–0x1E and 0x40–0x42 all have names', () => {
    for (let b = 0x01; b <= 0x1e; b++) expect(ipcCommandName(b)).toBeDefined();
    for (const b of [0x40, 0x41, 0x42]) expect(ipcCommandName(b)).toBeDefined();
    expect(IPC_CMD.SetTaskExecOK).toBe(0x1e);
    expect(ipcCommandName(0x00)).toBeUndefined();
  });

  it('SetVisibility / SetTaskExec: byte 1 is true, anything else false', () => {
    expect(decodeIpc(unhex('1502'))).toEqual({ cmd: 'set_visibility', public: false });
    expect(decodeIpc(unhex('15'))).toEqual({ cmd: 'set_visibility', public: false });
    expect(decodeIpc(unhex('1d01'))).toEqual({ cmd: 'set_task_exec', enabled: true });
  });
});

describe('IPC rejections', () => {
  it('unknown command byte → invalid_argument "unknown command: 0xNN"', () => {
    for (const b of [0x00, 0x1f, 0x3f, 0x43, 0xff]) {
      expect(() => decodeIpc(new Uint8Array([b, 1, 2]))).toThrow(code('invalid_argument'));
    }
    expect(() => decodeIpc(new Uint8Array([0x1f]))).toThrow('unknown command: 0x1f');
    expect(() => decodeIpc(new Uint8Array([0xab]))).toThrow('unknown command: 0xab');
  });

  it('empty and truncated messages → short_buffer', () => {
    expect(() => decodeIpc(new Uint8Array(0))).toThrow(code('short_buffer'));
    const fixed: [string, number][] = [
      ['01', 2],
      ['03', 8],
      ['04', 4],
      ['05', 14],
      ['06', 4],
      ['0a', 2],
      ['0b', 8],
      ['0c', 10],
      ['0f', 1],
      ['40', 4],
      ['41', 4],
    ];
    for (const [c, n] of fixed) {
      expect(() => decodeIpc(unhex(c + '00'.repeat(n - 1))), c).toThrow(code('short_buffer'));
      expect(() => decodeIpc(unhex(c + '00'.repeat(n)))).not.toThrow();
    }
  });

  it('set_tags must be a JSON array of strings', () => {
    expect(() => decodeIpc(unhex('19' + hex(ascii('{"a":1}'))))).toThrow(code('invalid_argument'));
    expect(() => decodeIpc(unhex('19' + hex(ascii('[1]'))))).toThrow(code('invalid_argument'));
    expect(() => decodeIpc(unhex('19' + hex(ascii('['))))).toThrow(code('invalid_argument'));
  });

  it('encode rejects out-of-range fields', () => {
    expect(() => encodeIpc({ cmd: 'bind', port: 65536 })).toThrow(code('invalid_argument'));
    expect(() => encodeIpc({ cmd: 'dial', addr: { network: 0, node: -1 }, port: 1 })).toThrow(code('invalid_argument'));
    expect(() => encodeIpc({ cmd: 'close', connId: 2 ** 32 })).toThrow(code('invalid_argument'));
    expect(() => encodeIpc({ cmd: 'handshake', sub: 256, body: new Uint8Array(0) })).toThrow(code('invalid_argument'));
    expect(() => encodeIpc({ cmd: 'ext_request', requestId: -1, json: new Uint8Array(0) })).toThrow(code('invalid_argument'));
  });

  it('an IPC message over 1 MiB cannot be framed', () => {
    expect(() => encodeFrame(encodeIpc({ cmd: 'send', connId: 1, data: new Uint8Array(1 << 20) }))).toThrow(code('frame_too_large'));
  });
});
