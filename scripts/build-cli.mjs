#!/usr/bin/env node
// `npm run build:cli` (also run by `prepare`, so `npm ci` builds it, and once per test run as the
// vitest/Playwright globalSetup): compiles pilotctl (main/cli/entry.ts and everything it imports) to
// plain ESM JavaScript with esbuild, so that pilotctl starts without compiling TypeScript.
//
// Layout: out/cli-<content hash>/ holds one build: pilotctl.js (the entry), one chunk per command
// family loaded by import() (main/cli/commands/index.ts) and shared chunks, all FLAT in that one
// directory (code that finds bin/ from import.meta.url counts on it: out/cli-x/chunk.js -> ../../bin).
// out/cli is a symlink to the current build, switched atomically: engineers and test runs build in
// the same tree at the same time, and a process that started on one build keeps loading its lazy
// chunks from that build's directory (Node resolves the symlink once, at the entry). A superseded
// build is deleted an hour after it stopped being current. Packages from node_modules stay
// external (imported at run time, as with tsx).
//
// out/cli/build.json records the build's start time and its source files: bin/pilotctl.mjs runs the
// TypeScript through tsx instead when one of them is newer (an edit since the build).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const ROOT = path.resolve(import.meta.dirname, '..');
const PRUNE_AFTER_MS = 60 * 60 * 1000;
// File times come from the kernel's coarse clock, which can trail Date.now() by a tick: a source
// saved just after the build started could carry an earlier time. The stamp is set back by this
// margin, so such a file counts as newer than the build (pilotctl then runs the sources).
const MTIME_MARGIN_MS = 50;

/** Builds pilotctl into out/cli; returns where and how long it took. */
export async function buildCli({ root = ROOT, quiet = false } = {}) {
  const started = Date.now();
  const out = path.join(root, 'out');
  const result = await build({
    absWorkingDir: root,
    entryPoints: { pilotctl: 'main/cli/entry.ts' },
    outdir: path.join(out, 'cli-build'), // nominal: nothing is written there (write: false)
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    tsconfig: 'tsconfig.node.json',
    keepNames: true, // class and function names stay as written (errors, logs)
    chunkNames: '[name]-[hash]',
    write: false,
    metafile: true,
    logLevel: 'warning',
  });
  const hash = createHash('sha256');
  const files = result.outputFiles
    .map((f) => ({ name: path.relative(path.join(out, 'cli-build'), f.path), contents: f.contents }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const f of files) {
    if (f.name.includes(path.sep)) throw new Error(`build-cli: output ${f.name} is not flat`);
    hash.update(f.name).update('\0').update(f.contents);
  }
  const name = `cli-${hash.digest('hex').slice(0, 16)}`;
  const dir = path.join(out, name);
  fs.mkdirSync(out, { recursive: true });
  if (!fs.existsSync(dir)) {
    const tmp = fs.mkdtempSync(path.join(out, '.cli-tmp-'));
    fs.chmodSync(tmp, 0o755); // mkdtemp makes it 0700; other users run pilotctl too
    for (const f of files) fs.writeFileSync(path.join(tmp, f.name), f.contents);
    try {
      fs.renameSync(tmp, dir);
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      if (!fs.existsSync(dir)) throw e; // else another build of the same sources won the race
    }
  }
  const inputs = Object.keys(result.metafile.inputs)
    .filter((f) => !f.startsWith('node_modules/'))
    .sort();
  writeAtomic(path.join(dir, 'build.json'), JSON.stringify({ builtAt: started - MTIME_MARGIN_MS, inputs }) + '\n');
  switchLink(out, name);
  prune(out, name);
  const ms = Date.now() - started;
  if (!quiet) console.log(`pilotctl built: out/cli -> out/${name} (${files.length} files, ${inputs.length} sources) in ${ms} ms`);
  return { dir, ms };
}

function writeAtomic(file, text) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/** Points out/cli at out/<name> with one rename; the build it replaces is marked superseded now. */
function switchLink(out, name) {
  const link = path.join(out, 'cli');
  let previous;
  try {
    previous = fs.readlinkSync(link);
  } catch (e) {
    // absent, or a plain directory from elsewhere: replace it
    if (e.code !== 'ENOENT') fs.rmSync(link, { recursive: true, force: true });
  }
  if (previous === name || previous === path.join(out, name)) return;
  const tmp = path.join(out, `.cli-link-${process.pid}`);
  fs.rmSync(tmp, { force: true });
  if (process.platform === 'win32') fs.symlinkSync(path.join(out, name), tmp, 'junction');
  else fs.symlinkSync(name, tmp, 'dir');
  fs.renameSync(tmp, link);
  if (previous) {
    const now = new Date();
    try {
      fs.utimesSync(path.resolve(out, previous), now, now);
    } catch {
      // already gone
    }
  }
}

/** Deletes builds (and abandoned temporaries) that stopped being current over an hour ago. */
function prune(out, current) {
  const now = Date.now();
  for (const entry of fs.readdirSync(out)) {
    if (entry === current || !/^(cli-[0-9a-f]{16}|\.cli-tmp-.+)$/.test(entry)) continue;
    const p = path.join(out, entry);
    try {
      if (now - fs.statSync(p).mtimeMs > PRUNE_AFTER_MS) fs.rmSync(p, { recursive: true, force: true });
    } catch {
      // removed by a concurrent build
    }
  }
}

/**
 * vitest and Playwright globalSetup: one build per test run, so spawned pilotctl runs current code.
 * A failed build (a source mid-edit in the shared tree) does not stop the run: the sources are then
 * newer than the last build, so pilotctl runs them through tsx, and only the tests that need the
 * broken code fail, with its own error.
 */
export default async function setup() {
  try {
    await buildCli({ quiet: true });
  } catch (e) {
    console.warn(`build-cli: the compiled pilotctl was not rebuilt (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); pilotctl runs its sources through tsx`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await buildCli();
}
