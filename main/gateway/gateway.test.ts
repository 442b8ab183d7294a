// The gateway without root: 127.77.0.0/16 lies in 127.0.0.0/8, which Linux routes to the loopback
// device as a whole, so listeners can bind its addresses without adding them; the address driver is
// a recorder, and the "Pilot stream" is a TCP connection to a local HTTP server standing in for the
// peer's service. The real thing (loopback addresses, daemons, curl) is test/nat/gateway.test.ts.
import { describe, it, expect, afterEach } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseAddress } from '../../shared/address';
import { silentLogger } from '../util/log';
import type { AddressDriver } from './addresses';
import type { BridgeStream, StreamDialer } from './bridge';
import { controlRequest } from './control';
import { Gateway } from './gateway';
import { gatewayPaths, writeState } from './state';

class RecordingAddresses implements AddressDriver {
  present = new Set<string>();
  log: string[] = [];
  async add(ip: string): Promise<boolean> {
    this.log.push(`add ${ip}`);
    if (this.present.has(ip)) return false;
    this.present.add(ip);
    return true;
  }
  async remove(ip: string): Promise<boolean> {
    this.log.push(`del ${ip}`);
    return this.present.delete(ip);
  }
}

/** A BridgeStream over a TCP connection (the stand-in for a Pilot stream). */
function tcpStream(sock: net.Socket): BridgeStream {
  const chunks: Uint8Array[] = [];
  const waiters: ((c: Uint8Array | undefined) => void)[] = [];
  let ended = false;
  sock.on('data', (c: Buffer) => {
    const w = waiters.shift();
    if (w) w(c);
    else chunks.push(c);
  });
  const end = (): void => {
    ended = true;
    for (const w of waiters.splice(0)) w(undefined);
  };
  sock.on('end', end);
  sock.on('close', end);
  sock.on('error', () => undefined);
  return {
    write: (d) => void sock.write(d),
    drained: () => (sock.writableLength === 0 ? Promise.resolve() : new Promise((r) => sock.once('drain', () => r()))),
    read: () => {
      const c = chunks.shift();
      if (c || ended) return Promise.resolve(c);
      return new Promise((r) => waiters.push(r));
    },
    end: async () => void sock.end(),
    destroy: () => sock.destroy(),
  };
}

interface Peer {
  server: http.Server;
  port: number;
  dials: string[];
  dialer: StreamDialer;
}

async function peerService(body: (url: string) => Buffer): Promise<Peer> {
  const server = http.createServer((req, res) => {
    const b = body(req.url ?? '/');
    res.writeHead(200, { 'content-length': b.length });
    res.end(b);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const dials: string[] = [];
  const dialer: StreamDialer = (addr, p) => {
    dials.push(`${addr.network}:${addr.node}:${p}`);
    if (addr.node === 404) return Promise.reject(new Error('dial timeout'));
    return new Promise((resolve, reject) => {
      const s = net.createConnection({ host: '127.0.0.1', port }, () => resolve(tcpStream(s)));
      s.once('error', reject);
    });
  };
  return { server, port, dials, dialer };
}

async function freePort(host: string): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, host, () => r()));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

function get(url: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function home(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'pilot-gw-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function setup(body: (url: string) => Buffer = (u) => Buffer.from(`hello from the peer ${u}`)) {
  const peer = await peerService(body);
  cleanups.push(() => new Promise<void>((r) => peer.server.close(() => r())));
  const port = await freePort('127.77.0.1');
  const addresses = new RecordingAddresses();
  const h = home();
  const gw = await Gateway.start({ home: h, subnet: '127.77.0.0/16', ports: [port], dialer: peer.dialer, addresses, log: silentLogger });
  cleanups.push(() => gw.stop());
  return { peer, port, addresses, gw, h, paths: gatewayPaths(h) };
}

describe('gateway (no root: 127.77.0.0/16, recorded addresses)', () => {
  it('maps over the control socket, proxies HTTP to the mapped address and port, lists, unmaps', async () => {
    const { peer, port, addresses, paths } = await setup();
    const m = await controlRequest(paths.control, { op: 'map', addr: '0:0000.0000.0005' });
    expect(m).toEqual({ localIp: '127.77.0.1', pilotAddr: '0:0000.0000.0005' });
    expect(addresses.present).toEqual(new Set(['127.77.0.1']));
    const state = JSON.parse(readFileSync(paths.state, 'utf8')) as { addresses: string[]; pid: number };
    expect(state).toMatchObject({ pid: process.pid, addresses: ['127.77.0.1'] });

    const r = await get(`http://127.77.0.1:${port}/x?y=1`);
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('hello from the peer /x?y=1');
    expect(peer.dials).toEqual([`0:5:${port}`]);

    expect(await controlRequest(paths.control, { op: 'list' })).toEqual([{ localIp: '127.77.0.1', pilotAddr: '0:0000.0000.0005' }]);
    await expect(controlRequest(paths.control, { op: 'map', addr: '0:0000.0000.0006', ip: '10.1.1.1' })).rejects.toThrow(/not in subnet/);
    await controlRequest(paths.control, { op: 'unmap', ip: '127.77.0.1' });
    expect(addresses.present.size).toBe(0);
    await expect(get(`http://127.77.0.1:${port}/`)).rejects.toThrow(/ECONNREFUSED/);
    await expect(controlRequest(paths.control, { op: 'unmap', ip: '127.77.0.1' })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('carries a large body intact both ways through the bridge', async () => {
    const big = randomBytes(8 << 20);
    const { gw, port } = await setup(() => big);
    const m = await gw.map(parseAddress('0:0000.0000.0007'));
    const r = await get(`http://${m.localIp}:${port}/big`);
    expect(r.body.length).toBe(big.length);
    expect(createHash('sha256').update(r.body).digest('hex')).toBe(createHash('sha256').update(big).digest('hex'));
  });

  it('resets the TCP connection when the Pilot dial fails', async () => {
    const { gw, port } = await setup();
    const m = await gw.map(parseAddress('0:0000.0000.0194')); // node 404: the fake dialer refuses
    await expect(get(`http://${m.localIp}:${port}/`)).rejects.toThrow(/ECONNRESET|socket hang up/);
    expect(gw.counters.dialFailures).toBe(1);
  });

  it('stop removes every address it added, its state, pid and control socket', async () => {
    const { gw, addresses, paths } = await setup();
    await gw.map(parseAddress('0:0000.0000.0005'));
    await gw.map(parseAddress('0:0000.0000.0006'), '127.77.9.9');
    addresses.present.add('127.77.0.3'); // someone else's address, present before we map onto it
    await gw.map(parseAddress('0:0000.0000.0007'), '127.77.0.3');
    await gw.stop();
    expect(addresses.present).toEqual(new Set(['127.77.0.3']));
    expect(addresses.log.filter((l) => l.startsWith('del')).sort()).toEqual(['del 127.77.0.1', 'del 127.77.9.9']);
    for (const f of [paths.state, paths.pid, paths.control]) expect(existsSync(f)).toBe(false);
    await expect(controlRequest(paths.control, { op: 'list' })).rejects.toMatchObject({ code: 'not_running' });
  });

  it('start removes the addresses a dead gateway recorded, and refuses while a recorded gateway lives', async () => {
    const h = home();
    const p = gatewayPaths(h);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    await writeState(p.state, { pid: dead, subnet: '127.77.0.0/16', ports: [80], addresses: ['127.77.0.1', '127.77.0.2'], mappings: [] });
    const addresses = new RecordingAddresses();
    addresses.present.add('127.77.0.1');
    const peer = await peerService(() => Buffer.from('x'));
    cleanups.push(() => new Promise<void>((r) => peer.server.close(() => r())));
    const gw = await Gateway.start({ home: h, subnet: '127.77.0.0/16', ports: [await freePort('127.77.0.1')], dialer: peer.dialer, addresses, log: silentLogger });
    cleanups.push(() => gw.stop());
    expect(gw.staleRemoved).toEqual(['127.77.0.1']);
    expect(addresses.log).toEqual(['del 127.77.0.1', 'del 127.77.0.2']);
    expect(addresses.present.size).toBe(0);

    const h2 = home();
    await writeState(gatewayPaths(h2).state, { pid: process.ppid, subnet: '127.77.0.0/16', ports: [80], addresses: ['127.77.0.1'], mappings: [] });
    await expect(Gateway.start({ home: h2, dialer: peer.dialer, addresses, log: silentLogger })).rejects.toMatchObject({ code: 'already_exists' });
  });
});

describe('gateway control socket', () => {
  it('answers a malformed or unknown request with invalid_argument and keeps serving', async () => {
    const { paths } = await setup();
    const raw = (line: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const s = net.createConnection({ path: paths.control }, () => s.write(line + '\n'));
        let buf = '';
        s.setEncoding('utf8');
        s.on('data', (c: string) => (buf += c));
        s.on('end', () => resolve(buf));
        s.on('error', reject);
      });
    expect(JSON.parse(await raw('not json'))).toMatchObject({ status: 'error', code: 'invalid_argument' });
    expect(JSON.parse(await raw('{"op":"format-disk"}'))).toMatchObject({ status: 'error', code: 'invalid_argument' });
    expect(JSON.parse(await raw('{"op":"map","addr":"not-an-address"}'))).toMatchObject({ status: 'error', code: 'invalid_argument' });
    expect(await controlRequest(paths.control, { op: 'list' })).toEqual([]);
  });
});
