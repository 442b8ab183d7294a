import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeIpc, encodeIpc } from '../wire/ipc';
import { encodeFrame, FrameDecoder } from '../wire/framing';
import { IpcClient } from './client';
import { envelope, PILOTCTL, pilotctl } from './testing/procs';

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
      expect(seen).toEqual(['ext_request', 'ext_request']);
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
