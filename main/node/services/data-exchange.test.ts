import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { formatAddress } from '../../../shared/address';
import { DATA_TYPE, ServiceFrameDecoder, encodeServiceFrame } from '../../wire/service';
import { fromUtf8 } from '../../util/bytes';
import { sendFile, sendFrames, sendMessage, type FileEvent, type MessageEvent } from './data-exchange';
import { echo } from './echo';
import { TestNet, waitFor, type Peer } from './testkit';

let net: TestNet;
let a: Peer;
let b: Peer;
beforeAll(async () => {
  net = await TestNet.start();
  a = await net.peer({ public: true });
  b = await net.peer({ public: true });
});
afterAll(async () => {
  await net?.close();
});

describe('echo (port 7)', () => {
  it('writes every byte back', async () => {
    const data = new Uint8Array(200_000).map((_, i) => (i * 31) & 0xff);
    expect(await echo(a.node, b.node.nodeId, data)).toEqual(data);
  });
});

describe('data exchange (port 1001)', () => {
  it('stores TEXT / JSON / BINARY in the inbox and acknowledges each', async () => {
    const seen: MessageEvent[] = [];
    b.svc.data!.on('message', (m) => seen.push(m));
    expect(await sendMessage(a.node, b.node.nodeId, 'TEXT', 'hello world')).toEqual({ reply: 'ACK TEXT 11 bytes' });
    expect(await sendMessage(a.node, b.node.nodeId, 'JSON', '{"k":1}')).toEqual({ reply: 'ACK JSON 7 bytes' });
    expect(await sendMessage(a.node, b.node.nodeId, 'BINARY', new Uint8Array([104, 105]))).toEqual({ reply: 'ACK BINARY 2 bytes' });
    expect(seen.map((m) => m.type)).toEqual(['TEXT', 'JSON', 'BINARY']);
    const files = (await readdir(b.svc.inboxDir)).sort();
    expect(files).toHaveLength(3);
    for (const f of files) expect(f).toMatch(/^(TEXT|JSON|BINARY)-\d{8}-\d{6}\.\d{3}(-\d+)?\.json$/);
    const text = JSON.parse(await readFile(seen[0]!.path, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(text)).toEqual(['bytes', 'data', 'from', 'received_at', 'type']);
    expect(text).toMatchObject({ bytes: 11, data: 'hello world', from: formatAddress(a.node.address), type: 'TEXT' });
    expect(text['received_at']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect((await stat(seen[0]!.path)).mode & 0o777).toBe(0o600);
  });

  it('saves FILE frames under their base name only, never outside received/', async () => {
    const got: FileEvent[] = [];
    b.svc.data!.on('file', (f) => got.push(f));
    const body = new Uint8Array([1, 2, 3, 4, 5]);
    expect(await sendFile(a.node, b.node.nodeId, 'report.csv', body)).toEqual({ reply: 'ACK FILE 5 bytes' });
    await sendFile(a.node, b.node.nodeId, '../../../etc/passwd', body);
    await sendFile(a.node, b.node.nodeId, 'C:\\Windows\\evil.txt', body);
    await sendFile(a.node, b.node.nodeId, '..', body);
    await sendFile(a.node, b.node.nodeId, '/tmp/', body);
    const names = got.map((f) => f.name);
    expect(names[0]).toMatch(/^report-\d{8}-\d{6}\.\d{3}(-\d+)?\.csv$/);
    expect(names[1]).toMatch(/^passwd-\d{8}-\d{6}\.\d{3}/);
    expect(names[2]).toMatch(/^evil-.*\.txt$/);
    expect(names[3]).toMatch(/^file-/);
    expect(names[4]).toMatch(/^file-/);
    for (const f of got) {
      expect(path.dirname(f.path)).toBe(b.svc.receivedDir);
      expect(await readFile(f.path)).toEqual(Buffer.from(body));
      expect((await stat(f.path)).mode & 0o777).toBe(0o600);
    }
    expect((await readdir(b.svc.receivedDir)).length).toBe(5);
  });

  it('answers several frames on one connection in order, unknown types acknowledged, not stored', async () => {
    const before = (await readdir(b.svc.inboxDir)).length;
    const replies = await sendFrames(a.node, b.node.nodeId, [
      { type: DATA_TYPE.TEXT, payload: new TextEncoder().encode('one') },
      { type: 9, payload: new Uint8Array(4) },
      { type: DATA_TYPE.TEXT, payload: new TextEncoder().encode('three') },
    ]);
    expect(replies.map((r) => r.reply)).toEqual(['ACK TEXT 3 bytes', 'ACK UNKNOWN(9) 4 bytes', 'ACK TEXT 5 bytes']);
    expect((await readdir(b.svc.inboxDir)).length).toBe(before + 2);
  });

  it('is reachable with raw frames split at odd points (reference client behaviour)', async () => {
    const s = await a.node.dial(b.node.address, 1001);
    const dec = new ServiceFrameDecoder();
    const reply = new Promise<string>((resolve) => s.on('data', (c) => {
      const f = dec.push(Uint8Array.from(c))[0];
      if (f) resolve(fromUtf8(f.payload));
    }));
    const frame = encodeServiceFrame(DATA_TYPE.TEXT, new TextEncoder().encode('split'));
    s.write(frame.subarray(0, 3));
    s.write(frame.subarray(3, 9));
    s.write(frame.subarray(9));
    expect(await reply).toBe('ACK TEXT 5 bytes');
    s.end();
  });

  it('emits events the console can show', async () => {
    const ev = waitFor<[MessageEvent]>(b.svc.data!, 'message');
    await sendMessage(a.node, b.node.nodeId, 'TEXT', 'ping');
    const [m] = await ev;
    expect(m).toMatchObject({ type: 'TEXT', data: 'ping', from: formatAddress(a.node.address) });
  });
});
