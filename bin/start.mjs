#!/usr/bin/env node
// `npm start`: build the console bundles, then open the Electron app. Where the Electron binary is
// not available (it is downloaded lazily from GitHub, which some machines cannot reach), say so in
// one line and run the web console instead (`pilotctl console`, which prints its URL).
//
// The binary is looked up here rather than with require('electron'): that require downloads the
// binary with its output (and, on failure, the downloader's stack trace) on this terminal. Here a
// missing binary is fetched once with electron's own installer, its output captured, and a
// failure reduced to its reason.
// PILOT_SKIP_BUILD=1 skips the build when the bundles are current (tests).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const electronDir = path.join(root, 'node_modules', 'electron');

/** The Electron executable, or why there is none. */
function electronBinary() {
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  const pathFile = path.join(electronDir, 'path.txt');
  const relative = () => (existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : undefined);
  if (override) {
    const p = path.join(override, relative() || 'electron');
    return existsSync(p) ? { bin: p } : { reason: `ELECTRON_OVERRIDE_DIST_PATH has no Electron binary (${p})` };
  }
  if (!existsSync(path.join(electronDir, 'install.js'))) return { reason: 'the electron package is not installed' };
  let rel = relative();
  if (rel && existsSync(path.join(electronDir, 'dist', rel))) return { bin: path.join(electronDir, 'dist', rel) };
  // Fetch it once, quietly; keep what the installer said for the reason.
  process.stderr.write('Fetching the Electron binary (first launch)…\n');
  const r = spawnSync(process.execPath, [path.join(electronDir, 'install.js')], { cwd: electronDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  rel = relative();
  if (r.status === 0 && rel && existsSync(path.join(electronDir, 'dist', rel))) return { bin: path.join(electronDir, 'dist', rel) };
  const said = `${r.stderr ?? ''}\n${r.stdout ?? ''}`
    .split('\n')
    .map((l) => l.trim())
    .find((l) => /error|ENOTFOUND|EAI_AGAIN|ECONN|ETIMEDOUT|status code|\b[45]\d\d\b/i.test(l) && !/^at\s/.test(l));
  const why = r.error?.code === 'ETIMEDOUT' ? 'the download timed out' : said ? said.replace(/^(Error|HTTPError|RequestError):\s*/i, '').slice(0, 160) : `the installer exited with ${r.status ?? r.signal}`;
  return { reason: `its download failed: ${why}` };
}

if (process.env.PILOT_SKIP_BUILD !== '1') {
  // The build's output only matters when it fails.
  const build = spawnSync(process.execPath, [path.join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (build.status !== 0) {
    process.stderr.write(`${build.stdout ?? ''}${build.stderr ?? ''}`);
    process.stderr.write('npm start: building the console failed (above).\n');
    process.exit(build.status ?? 1);
  }
}

const found = electronBinary();
let child;
if (found.bin) {
  child = spawn(found.bin, [root, ...args], { cwd: root, stdio: 'inherit' });
} else {
  console.error(`Electron is not available on this machine (${found.reason}); starting the web console instead — open the URL below.`);
  child = spawn(process.execPath, [path.join(root, 'bin/pilotctl.mjs'), 'console', ...args], { cwd: root, stdio: 'inherit' });
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
