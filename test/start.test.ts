import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');

// `npm start` where the Electron binary is not there: one clear line, then the web console's URL —
// no downloader output, no stack trace.
describe('bin/start.mjs without an Electron binary', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-start-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('says so in one line and serves the web console', async () => {
    const empty = path.join(dir, 'no-electron');
    fs.mkdirSync(empty);
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir, PILOT_HOME: path.join(dir, '.pilot'), PILOT_SOCKET: path.join(dir, 'pilot.sock'), ELECTRON_OVERRIDE_DIST_PATH: empty, PILOT_SKIP_BUILD: '1', NO_COLOR: '1' };
    delete env['PILOT_REGISTRY'];
    const child = spawn(process.execPath, [path.join(root, 'bin/start.mjs'), '--no-demo', '--port', '0'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await vi.waitFor(() => expect(out).toMatch(/Pilot Fleet console: http:\/\/127\.0\.0\.1:\d+\/\?token=/), { timeout: 30_000, interval: 100 });
      // On a fresh clone the renderer is built once first (a second line says so); nothing else.
      const lines = err.split('\n').filter((l) => l !== '' && l !== 'building the console (first run)...');
      expect(lines).toEqual([expect.stringMatching(/^Electron is not available on this machine \(ELECTRON_OVERRIDE_DIST_PATH has no Electron binary .*\); starting the web console instead/)]);
      expect(`${out}${err}`).not.toMatch(/^\s+at /m);
      const res = await fetch(/(http:\S+)/.exec(out)![1]!);
      expect(res.status).toBe(200);
    } finally {
      child.kill('SIGINT');
      await exited;
    }
  });
});
