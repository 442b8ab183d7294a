import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeIpc, encodeIpc } from '../wire/ipc';
import { encodeFrame, FrameDecoder } from '../wire/framing';
import { IpcClient } from './client';
import { envelope, makeHome, PILOTCTL, pilotctl, startBackboneProc, type BackboneProc, type Home } from './testing/procs';

// A daemon that speaks only the reference's IPC commands (cli.md §2): anything else, our JSON
// extension 0x40-0x42 included, gets `Error "unknown command: 0xNN"`. Our client and pilotctl must
// turn that into a clear error at once instead of waiting for an answer that never comes.
describe('tools against a daemon without our extensions', () => {
  let dir: string;
  let server: net.Server;
  let socketPath: string;
  let seen: string[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-foreign-'));
    socketPath = path.join(dir, 'ref.sock');
    server = net.createServer((sock) => {
      const dec = new FrameDecoder();
      sock.on('data', (chunk: Buffer) => {
        for (const f of dec.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length))) {
          const cmdByte = f[0]!;
          let m;
          try {
            m = decodeIpc(f);
          } catch {
            m = undefined;
          }
          seen.push(m?.cmd ?? `0x${cmdByte.toString(16)}`);
          if (cmdByte >= 0x40) {
            sock.write(encodeFrame(encodeIpc({ cmd: 'error', code: 0, message: `unknown command: 0x${cmdByte.toString(16).padStart(2, '0')}` })));
          }
        }
      });
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(socketPath, () => r()));
  });

  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an extension request is refused with unavailable, and the connection keeps working', async () => {
    seen = [];
    const c = await IpcClient.connect(socketPath);
    try {
      await expect(c.call('node.info', {})).rejects.toMatchObject({ code: 'unavailable' });
      await expect(c.callExt('events.subscribe', {})).rejects.toMatchObject({ code: 'unavailable' });
      expect(c.closed).toBe(false);
      // Once refused, the client knows: the second extension request is refused without asking.
      expect(seen).toEqual(['ext_request']);
    } finally {
      c.close();
    }
  });

  it('pilotctl peers (an extension command) exits non-zero with a clear error instead of hanging', async () => {
    const env = { ...process.env, PILOT_SOCKET: socketPath, PILOT_HOME: dir };
    const r = await pilotctl(env, ['--json', 'peers'], 20_000);
    expect(r.code).not.toBe(0);
    expect(envelope(r)).toMatchObject({ status: 'error', code: 'unavailable' });
  });

  it('the first Ctrl-C ends a pilotctl that waits on a daemon which never answers', async () => {
    // A daemon that takes the request and says nothing.
    const silentPath = path.join(dir, 'silent.sock');
    let connected!: () => void;
    const gotConnection = new Promise<void>((r) => (connected = r));
    const silent = net.createServer((sock) => {
      sock.on('error', () => undefined);
      sock.once('data', () => connected());
    });
    await new Promise<void>((r) => silent.listen(silentPath, () => r()));
    try {
      const child = spawn(process.execPath, [PILOTCTL, 'info'], { env: { ...process.env, PILOT_SOCKET: silentPath, PILOT_HOME: dir }, stdio: 'ignore' });
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      await gotConnection;
      child.kill('SIGINT');
      expect(await exited).toBe(130);
    } finally {
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});

// Our real daemon with its IPC extension switched off (PILOT_IPC_EXTENSIONS=off) answers only the
// reference's IPC commands, as a reference daemon does. pilotctl falls back to the reference's own
// way where there is one (ping: a stream to the echo port per probe) and names the command and the
// reason where there is none. Real backbone, real daemon processes, real pilotctl.
describe('pilotctl through a daemon that answers only the reference IPC', () => {
  let dir: string;
  let bb: BackboneProc;
  let r: Home;
  let p: Home;
  let addrP = '';
  const suffix = Math.random().toString(36).slice(2, 7);

  const start = async (h: Home, hostname: string): Promise<string> => {
    const res = await pilotctl(h.env, ['--json', 'daemon', 'start', '--registry', bb.registry, '--beacon', bb.beacon, '--hostname', hostname, '--public', '--listen', '127.0.0.1:0']);
    expect(res.code, res.stderr).toBe(0);
    return String((envelope(res)['data'] as Record<string, unknown>)['address']);
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-refipc-'));
    bb = await startBackboneProc(makeHome(dir, 'bb').env, path.join(dir, 'bb-data'));
    r = makeHome(dir, 'r');
    r.env['PILOT_IPC_EXTENSIONS'] = 'off';
    p = makeHome(dir, 'p');
    [, addrP] = await Promise.all([start(r, `refipc-${suffix}`), start(p, `peer-${suffix}`)]);
  });

  afterAll(async () => {
    await Promise.all([pilotctl(r.env, ['daemon', 'stop']), pilotctl(p.env, ['daemon', 'stop'])]);
    if (bb && bb.proc.exitCode === null) bb.proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the switched-off daemon refuses the extension exactly as the reference does', async () => {
    const c = await IpcClient.connect(r.socket);
    try {
      await expect(c.call('node.info', {})).rejects.toMatchObject({ code: 'unavailable', name: 'NoExtensionsError' });
      expect((await c.info()).address).toMatch(/^0:/); // reference commands still work
    } finally {
      c.close();
    }
  });

  it('ping falls back to echo-port streams and reaches a real peer', async () => {
    const text = await pilotctl(r.env, ['ping', addrP, '--count', '2']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^PING /);
    expect(text.stdout).toMatch(/✓ reply from .* · [\d.]+ms \(echo stream\)/);
    expect(text.stdout).toMatch(/2 sent, 2 received, 0% loss/);
    const json = envelope(await pilotctl(r.env, ['--json', 'ping', `peer-${suffix}`, '--count', '1']));
    expect(json).toMatchObject({ status: 'ok', data: { via: 'echo', path: 'echo stream', stats: { sent: 1, received: 1 }, timeout: false } });
    const results = (json['data'] as { results: { bytes: number }[] }).results;
    expect(results[0]!.bytes).toBe('ping-0'.length);
  });

  it('ping to a node that does not answer exits non-zero', async () => {
    const res = await pilotctl(r.env, ['ping', '0:0000.0000.FFF0', '--count', '1', '--timeout', '3s']);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/no reply from/);
  });

  it('the first Ctrl-C ends an echo-stream ping in the middle of a probe, with its summary', async () => {
    const g = makeHome(dir, 'g');
    const addrG = await start(g, `gone-${suffix}`);
    process.kill(Number(fs.readFileSync(path.join(g.home, 'pilot.pid'), 'utf8').trim()), 'SIGKILL');
    // The dial to a dead node waits (key exchange, SYN retries) far longer than this test runs.
    const child = spawn(process.execPath, [PILOTCTL, 'ping', addrG, '--count', '3', '--timeout', '120s'], { env: r.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    await expect.poll(() => out.includes('PING '), { timeout: 20_000 }).toBe(true);
    child.kill('SIGINT');
    expect(await exited).toBe(1); // no reply: the ping(8) status
    expect(out).toMatch(/--- .*: 0 sent, 0 received, 100% loss/);
  });

  it('traceroute and bench work over the reference stream commands', async () => {
    const tr = await pilotctl(r.env, ['traceroute', addrP, '--timeout', '20s']);
    expect(tr.code, tr.stderr).toBe(0);
    expect(tr.stdout).toMatch(/rtt=\S+ bytes=7/);
    const bench = envelope(await pilotctl(r.env, ['--json', 'bench', addrP, '0.25']));
    expect(bench).toMatchObject({ status: 'ok', data: { sent_bytes: 262_144, recv_bytes: 262_144 } });
  });

  it('commands built on the reference IPC work unchanged', async () => {
    const cmds = [['info'], ['connections'], ['find', `peer-${suffix}`], ['trust'], ['pending'], ['set-tags', 'alpha'], ['connect', addrP, '7', '--message', 'hi there']];
    for (const cmd of cmds) {
      const res = await pilotctl(r.env, ['--json', ...cmd], 20_000);
      expect(res.code, `${cmd.join(' ')}: ${res.stderr}`).toBe(0);
    }
    const echo = envelope(await pilotctl(r.env, ['--json', 'connect', addrP, '7', '--message', 'hi there']));
    expect(echo).toMatchObject({ data: { response: 'hi there' } });
  });

  it('extension commands fail at once, naming the command and the reason', async () => {
    for (const cmd of [['peers'], ['netcheck'], ['task', 'list']]) {
      const res = await pilotctl(r.env, ['--json', ...cmd], 20_000);
      expect(res.code, cmd.join(' ')).not.toBe(0);
      const e = envelope(res);
      expect(e).toMatchObject({ status: 'error', code: 'unavailable' });
      expect(String(e['message'])).toContain(`pilotctl ${cmd.join(' ')} is not supported by this daemon: it is not a Pilot Fleet daemon`);
      expect(String(e['hint'])).toMatch(/ping, traceroute, bench/);
    }
    const text = await pilotctl(r.env, ['peers'], 20_000);
    expect(text.code).not.toBe(0);
    expect(text.stderr).toMatch(/^error: pilotctl peers is not supported by this daemon/m);
  });
});
