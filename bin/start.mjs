#!/usr/bin/env node
// `npm start`: build the console bundles, then open the Electron app. Where the Electron binary is
// not available (it is downloaded lazily from GitHub, which some machines cannot reach), fall back
// to the web console: `pilotctl console`, which prints its URL.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const require = createRequire(import.meta.url);

function electronBinary() {
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH) {
    const p = path.join(process.env.ELECTRON_OVERRIDE_DIST_PATH, 'electron');
    return existsSync(p) ? p : undefined;
  }
  try {
    const p = require('electron');
    return typeof p === 'string' && existsSync(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

const build = spawnSync(process.execPath, [path.join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const bin = electronBinary();
let child;
if (bin) {
  child = spawn(bin, [root, ...args], { cwd: root, stdio: 'inherit' });
} else {
  console.error('Electron binary not available on this machine; starting the web console instead.');
  child = spawn(process.execPath, [path.join(root, 'bin/pilotctl.mjs'), 'console', ...args], { cwd: root, stdio: 'inherit' });
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
