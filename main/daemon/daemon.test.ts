import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAddress } from '../../shared/address';
import { encodeFrame } from '../wire/framing';
import { IpcClient, type IpcConn } from './client';
import { envelope, makeHome, PILOTCTL, pilotctl, startBackboneProc, type BackboneProc, type Home } from './testing/procs';

// A real backbone process and two real daemons (each with its own PILOT_HOME and socket), driven
// through the real pilotctl binary and, for the IPC protocol itself, through IpcClient.
const REPLY = /^✓ reply from 0:[0-9A-F]{4}\.[0-9A-F]{4}\.[0-9A-F]{4} · [\d.]+ms \(direct\)$/m;
const INFO_KEYS = [
  'address', 'authenticated_peers', 'bytes_recv', 'bytes_sent', 'conn_list', 'connections', 'encrypt', 'encrypted_peers', 'hostname',
  'identity', 'node_id', 'owner', 'peer_list', 'peers', 'pkts_recv', 'pkts_sent', 'ports', 'public_key', 'uptime_secs',
];

describe('daemon + pilotctl over real processes', () => {
  let dir: string;
  let bb: BackboneProc;
  let a: Home;
  let b: Home;
  const suffix = Math.random().toString(36).slice(2, 7);
  const ha = `alpha-${suffix}`;
  const hb = `bravo-${suffix}`;
  let addrA = '';
  let addrB = '';

  const start = async (h: Home, hostname: string): Promise<Record<string, unknown>> => {
    const r = await pilotctl(h.env, ['--json', 'daemon', 'start', '--registry', bb.registry, '--beacon', bb.beacon, '--hostname', hostname, '--public', '--listen', '127.0.0.1:0']);
    expect(r.code, r.stderr).toBe(0);
    return envelope(r)['data'] as Record<string, unknown>;
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-daemon-'));
    bb = await startBackboneProc(makeHome(dir, 'bb').env, path.join(dir, 'bb-data'));
    a = makeHome(dir, 'a');
    b = makeHome(dir, 'b');
    const [da, db] = await Promise.all([start(a, ha), start(b, hb)]);
    addrA = String(da['address']);
    addrB = String(db['address']);
  });

  afterAll(async () => {
    await Promise.all([pilotctl(a.env, ['daemon', 'stop']), pilotctl(b.env, ['daemon', 'stop'])]);
    if (bb && bb.proc.exitCode === null) bb.proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts in the background: pid file, socket 0600, status --json', async () => {
    expect(addrA).toMatch(/^0:0000\.[0-9A-F]{4}\.[0-9A-F]{4}$/);
    expect(addrA).not.toBe(addrB);
    expect(fs.statSync(a.socket).mode & 0o777).toBe(0o600);
    const pid = Number(fs.readFileSync(path.join(a.home, 'pilot.pid'), 'utf8'));
    const s = envelope(await pilotctl(a.env, ['--json', 'daemon', 'status']));
    expect(s).toMatchObject({ status: 'ok', data: { running: true, responsive: true, pid, address: addrA, hostname: ha, socket: a.socket } });
    expect((await pilotctl(a.env, ['daemon', 'status', '--check'])).code).toBe(0);
    // A second start is refused while the first answers.
    const again = await pilotctl(a.env, ['--json', 'daemon', 'start', '--registry', bb.registry, '--beacon', bb.beacon]);
    expect(again.code).toBe(1);
    expect(envelope(again)).toMatchObject({ status: 'error', code: 'already_exists' });
  });

  it('pings both ways, by hostname and by address, over a direct encrypted tunnel', async () => {
    const byName = await pilotctl(a.env, ['ping', hb, '--count', '2']);
    expect(byName.code, byName.stderr).toBe(0);
    expect(byName.stdout).toContain(`PING ${addrB}`);
    expect(byName.stdout.match(new RegExp(REPLY.source, 'gm'))).toHaveLength(2);
    expect(byName.stdout).toContain(`✓ reply from ${addrB} · `);
    expect(byName.stderr).toContain(`resolved "${hb}" → ${addrB}`);

    const byAddr = await pilotctl(b.env, ['ping', addrA, '--count', '2']);
    expect(byAddr.code, byAddr.stderr).toBe(0);
    expect(byAddr.stdout).toMatch(REPLY);
    expect(byAddr.stdout).toContain(`✓ reply from ${addrA} · `);

    const j = envelope(await pilotctl(b.env, ['--json', 'ping', ha, '--count', '3']));
    const data = j['data'] as { target: string; path: string; timeout: boolean; results: { seq: number; rtt_ms: number; bytes: number }[] };
    expect(data).toMatchObject({ target: addrA, path: 'direct', timeout: false });
    expect(data.results.map((r) => r.seq)).toEqual([0, 1, 2]);
    for (const r of data.results) expect(r.rtt_ms).toBeGreaterThan(0);
  });

  it('info --json is the reference Info object with sorted keys', async () => {
    const r = await pilotctl(a.env, ['--json', 'info']);
    expect(r.code).toBe(0);
    const line = r.stdout.trim();
    const data = (JSON.parse(line) as { data: Record<string, unknown> }).data;
    expect(Object.keys(data)).toEqual(INFO_KEYS);
    expect(line.indexOf('"data"')).toBeLessThan(line.indexOf('"status"'));
    expect(data).toMatchObject({ address: addrA, hostname: ha, identity: true, encrypt: true, owner: '' });
    expect(data['ports']).toBeGreaterThanOrEqual(1);
    const peers = data['peer_list'] as { node_id: number; encrypted: boolean; authenticated: boolean; endpoint: string }[];
    expect(peers.find((p) => p.node_id === parseAddress(addrB).node)).toMatchObject({ encrypted: true, authenticated: true });
    const text = await pilotctl(a.env, ['info']);
    expect(text.stdout).toMatch(/^Pilot Protocol Daemon\n {2}Node ID: {5}\d+\n {2}Address: {5}0:/);
    expect(text.stdout).toContain(`  Hostname:    ${ha}\n`);
    expect(text.stdout).toMatch(/ {2}Identity: {4}persistent \(Ed25519 .{16}\.\.\.\)/);
  });

  it('finds by hostname and by tag; peers shows path and RTT', async () => {
    const f = envelope(await pilotctl(a.env, ['--json', 'find', hb]));
    expect(f).toMatchObject({ status: 'ok', data: { hostname: hb, address: addrB, public: true } });
    expect((await pilotctl(b.env, ['set-tags', `gpu${suffix}`, 'ml'])).stdout).toBe(`tags set: #gpu${suffix} #ml\n`);
    const t = envelope(await pilotctl(a.env, ['--json', 'find', '--tag', `gpu${suffix}`]));
    expect((t['data'] as { nodes: { address: string }[] }).nodes.map((n) => n.address)).toEqual([addrB]);
    const p = await pilotctl(a.env, ['peers']);
    expect(p.stdout).toMatch(/NODE ID +HOSTNAME +ENDPOINT +PATH +RTT +ENCRYPTED +AUTH/);
    expect(p.stdout).toMatch(new RegExp(`${hb} +127\\.0\\.0\\.1:\\d+ +direct +[\\d.]+ms +yes \\(AES-256-GCM\\) +yes \\(Ed25519\\)`));
  });

  it('bad arguments: exit 1 with the right code and message', async () => {
    const cases: [string[], string, RegExp][] = [
      [['ping', '0:zzzz'], 'invalid_argument', /invalid address "0:zzzz"/],
      [['connect', addrB, '99999', '--message', 'x'], 'invalid_argument', /port out of range: 99999/],
      [['ping', addrB, '--count', '0'], 'invalid_argument', /--count must be at least 1/],
      [['ping', `nobody-${suffix}`], 'not_found', /cannot resolve "nobody-.*" — is the hostname correct/],
      [['find', `nobody-${suffix}`], 'not_found', /cannot find "nobody-.*" — hostname not found/],
      [['set-tags', 'a', 'b', 'c', 'd'], 'invalid_argument', /set-tags: maximum 3 tags allowed, got 4/],
      [['ping', addrB, '--timeout', 'soon'], 'invalid_argument', /invalid --timeout "soon"/],
      [['ping'], 'invalid_argument', /missing <address\|hostname>/],
      [['lookup', 'abc'], 'invalid_argument', /invalid node id "abc"/],
      [['disconnect', 'x'], 'invalid_argument', /invalid connection id/],
      [['ping', addrB, '--bogus'], 'invalid_argument', /Unknown option '--bogus'/],
    ];
    const results = await Promise.all(cases.map(([args]) => pilotctl(a.env, ['--json', ...args])));
    results.forEach((r, i) => {
      const [args, code, message] = cases[i]!;
      expect(r.code, args.join(' ')).toBe(1);
      const e = envelope(r);
      expect(e, args.join(' ')).toMatchObject({ status: 'error', code });
      expect(String(e['message'])).toMatch(message);
    });
    const text = await pilotctl(a.env, ['ping', '0:zzzz']);
    expect(text.stderr).toMatch(/^error: invalid address "0:zzzz".*\nhint: {2}addresses look like/);
    const none = makeHome(dir, 'nobody');
    const nr = await pilotctl(none.env, ['--json', 'info']);
    expect(envelope(nr)).toMatchObject({ status: 'error', code: 'not_running', message: 'daemon is not running', hint: 'start the daemon with: pilotctl daemon start' });
  });

  it('IPC: bind/dial/send/recv/close between two daemons, pushes routed per client', async () => {
    const ca = await IpcClient.connect(a.socket);
    const cb = await IpcClient.connect(b.socket);
    try {
      const accepted = new Promise<IpcConn>((resolve, reject) => ca.bind(5055, resolve).catch(reject));
      await expect(cb.request({ cmd: 'bind', port: 5056 }, 'bind_ok')).resolves.toMatchObject({ port: 5056 });
      await expect(cb.request({ cmd: 'bind', port: 5056 }, 'bind_ok')).rejects.toThrow('port 5056 already bound');
      const conn = await cb.dial(parseAddress(addrA), 5055);
      const server = await accepted;
      expect(server.remote).toEqual(parseAddress(addrB));
      conn.write(new TextEncoder().encode('hello over ipc'));
      expect(new TextDecoder().decode(await server.read(5000))).toBe('hello over ipc');
      server.write(new TextEncoder().encode('and back'));
      expect(new TextDecoder().decode(await conn.read(5000))).toBe('and back');
      // pilotctl connections shows the open stream with its loss-repair counters (extension keys)
      const listed = envelope(await pilotctl(b.env, ['--json', 'connections']));
      const conns = (listed['data'] as { connections: Record<string, unknown>[] }).connections;
      expect(conns.find((c) => c['remote_port'] === 5055)).toMatchObject({ state: 'ESTABLISHED', remote_addr: addrA, lost_segs: expect.any(Number), timeouts: expect.any(Number), tlp_probes: expect.any(Number) });
      const text = await pilotctl(b.env, ['connections']);
      expect(text.stdout).toMatch(/lost: \d+ {2}probes: \d+ {2}rto: \d+/);
      const closedOnServer = new Promise<void>((r) => server.once('close', () => r()));
      await conn.close();
      await closedOnServer; // CloseOK pushed to the accepting client when the peer's FIN arrives
      // Errors and unknown commands keep the connection usable.
      await expect(cb.request({ cmd: 'dial', addr: parseAddress(addrA), port: 4999 }, 'dial_ok')).rejects.toThrow(/refused/);
      const info = await cb.info();
      expect(info.address).toBe(addrB);
    } finally {
      ca.close();
      cb.close();
    }
  });

  it('IPC: extension requests, events, unknown commands, and a garbage frame closes only that client', async () => {
    const c = await IpcClient.connect(a.socket);
    try {
      const me = await c.call('node.info', {});
      expect(me).toMatchObject({ address: addrA, hostname: ha });
      await expect(c.callExt('no.such.method', {})).rejects.toMatchObject({ code: 'not_found' });
      await expect(c.callExt('peers.ping', { target: '' })).rejects.toMatchObject({ code: 'invalid_argument' });
      await c.subscribe(['ping.reply']);
      const ev = new Promise<unknown>((r) => c.once('event', (e) => r(e)));
      await c.call('peers.ping', { target: addrB, count: 1 });
      await expect(ev).resolves.toMatchObject({ event: 'ping.reply', data: { target: addrB } });

      // Unknown command byte → Error reply, connection stays.
      const raw = net.createConnection({ path: a.socket });
      await new Promise((r) => raw.once('connect', r));
      const got = new Promise<Buffer>((r) => raw.once('data', r));
      raw.write(encodeFrame(Uint8Array.of(0x7f)));
      const reply = await got;
      expect(reply[4]).toBe(0x0a);
      expect(reply.subarray(7).toString()).toBe('unknown command: 0x7f');
      // An oversize length prefix → that client is dropped...
      const closed = new Promise<void>((r) => raw.once('close', () => r()));
      raw.write(Buffer.from([0x7f, 0xff, 0xff, 0xff]));
      await closed;
      // ...and everyone else is still served.
      expect((await c.info()).address).toBe(addrA);
    } finally {
      c.close();
    }
  });

  it('data exchange and event stream through the daemon: send-message → inbox, send-file → received, publish → subscribe', async () => {
    const m = await pilotctl(a.env, ['--json', 'send-message', hb, '--data', 'hello inbox']);
    expect(envelope(m)).toMatchObject({ status: 'ok', data: { target: addrB, type: 'text', bytes: 11, ack: 'ACK TEXT 11 bytes' } });
    const inbox = envelope(await pilotctl(b.env, ['--json', 'inbox']));
    expect((inbox['data'] as { messages: { data: string; from: string }[] }).messages).toEqual([expect.objectContaining({ data: 'hello inbox', from: addrA })]);
    const file = path.join(dir, 'report.txt');
    fs.writeFileSync(file, 'results: 42\n');
    expect(envelope(await pilotctl(a.env, ['--json', 'send-file', addrB, file]))).toMatchObject({ data: { filename: 'report.txt', bytes: 12, ack: 'ACK FILE 12 bytes' } });
    const rec = envelope(await pilotctl(b.env, ['--json', 'received']));
    expect((rec['data'] as { total: number })['total']).toBe(1);
    expect(envelope(await pilotctl(a.env, ['--json', 'send-file', addrB, path.join(dir, 'missing.txt')]))).toMatchObject({ code: 'not_found', message: expect.stringMatching(/^file not found: /) });

    // Subscriber (A → B's broker) runs in its own process; its stderr line (text mode) says it is subscribed.
    const sub = spawn(process.execPath, [PILOTCTL, 'subscribe', addrB, `news-${suffix}`, '--count', '1', '--timeout', '20s'], { env: a.env });
    let out = '';
    sub.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => sub.once('exit', r));
    await new Promise<void>((resolve) => {
      let err = '';
      sub.stderr.on('data', (c: Buffer) => {
        err += c.toString();
        if (err.includes('waiting for events')) resolve();
      });
    });
    const pub = await pilotctl(a.env, ['publish', addrB, `news-${suffix}`, '--data', 'breaking']);
    expect(pub.code, pub.stderr).toBe(0);
    expect(await exited).toBe(0);
    expect(out).toBe(`[news-${suffix}] breaking\n`);
  });

  it('stops, and a restart keeps the address (identity.key in PILOT_HOME)', async () => {
    const stop = await pilotctl(a.env, ['daemon', 'stop']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toMatch(/^daemon stopped \(pid \d+\)\n$/);
    expect(fs.existsSync(a.socket)).toBe(false);
    expect(fs.existsSync(path.join(a.home, 'pilot.pid'))).toBe(false);
    const st = envelope(await pilotctl(a.env, ['--json', 'daemon', 'status']));
    expect(st).toMatchObject({ data: { running: false, responsive: false } });
    expect((await pilotctl(a.env, ['daemon', 'status', '--check'])).code).toBe(1);
    const again = await pilotctl(a.env, ['--json', 'daemon', 'stop']);
    expect(envelope(again)).toMatchObject({ code: 'not_running' });
    const d = await start(a, ha);
    expect(d['address']).toBe(addrA);
    const p = await pilotctl(a.env, ['ping', addrB, '--count', '1']);
    expect(p.stdout, p.stderr).toMatch(REPLY);
  });

  it('keeps pinging over established tunnels after the backbone dies', async () => {
    // Both directions have live tunnels (the restarted A pinged B above; B pings A now).
    expect((await pilotctl(b.env, ['ping', addrA, '--count', '1'])).stdout).toMatch(REPLY);
    bb.proc.kill('SIGKILL');
    await bb.exited;
    const ab = await pilotctl(a.env, ['ping', addrB, '--count', '2']);
    expect(ab.code, ab.stderr).toBe(0);
    expect(ab.stdout.match(new RegExp(REPLY.source, 'gm'))).toHaveLength(2);
    const ba = await pilotctl(b.env, ['ping', addrA, '--count', '2']);
    expect(ba.code, ba.stderr).toBe(0);
    expect(ba.stdout).toMatch(REPLY);
  });
});
