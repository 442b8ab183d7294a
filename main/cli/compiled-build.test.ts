/**
 * The compiled pilotctl (scripts/build-cli.mjs) and how bin/pilotctl.mjs picks it: in a scratch
 * package root with a stub CLI, so that these tests neither depend on nor disturb the tree's out/.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildCli } from '../../scripts/build-cli.mjs';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
let root: string;

function write(rel: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), text);
}

/** A package root: the real bin/pilotctl.mjs, node_modules (for tsx), a tiny CLI in main/cli. */
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-cli-build-'));
  fs.mkdirSync(path.join(root, 'bin'));
  fs.copyFileSync(path.join(REPO, 'bin', 'pilotctl.mjs'), path.join(root, 'bin', 'pilotctl.mjs'));
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(root, 'node_modules'), 'dir');
  write('package.json', JSON.stringify({ type: 'module' }));
  write('tsconfig.node.json', JSON.stringify({ compilerOptions: { target: 'ES2023', module: 'ESNext', moduleResolution: 'bundler' } }));
  write('main/cli/word.ts', "export const WORD: string = 'one';\n");
  write(
    'main/cli/entry.ts',
    [
      "import { WORD } from './word';",
      'export async function cliMain(argv: string[]): Promise<void> {',
      "  const { shout } = await import('./lazy');",
      "  process.stdout.write(`${shout(WORD)} ${argv.join(',')} ${import.meta.url.includes('/out/cli-') ? 'compiled' : 'sources'}\\n`);",
      '}',
      '',
    ].join('\n'),
  );
  write('main/cli/lazy.ts', "import { WORD } from './word';\nexport const shout = (s: string): string => `${s.toUpperCase()}(${WORD.length})`;\n");
  backdate();
});

afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

/** Dates every source a few seconds back: a file saved moments before a build counts as newer than it. */
function backdate(): void {
  const past = new Date(Date.now() - 5000);
  for (const f of ['entry.ts', 'lazy.ts', 'word.ts']) fs.utimesSync(path.join(root, 'main/cli', f), past, past);
}

function pilotctl(env: NodeJS.ProcessEnv = {}): Promise<string> {
  const e = { ...process.env, ...env };
  if (env['PILOT_DEV'] === undefined) delete e['PILOT_DEV'];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(root, 'bin', 'pilotctl.mjs'), 'a', 'b'], { env: e, timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout.trim())));
  });
}

const builds = (): string[] => fs.readdirSync(path.join(root, 'out')).filter((f) => /^cli-[0-9a-f]{16}$/.test(f)).sort();

describe('build-cli', () => {
  it('writes a flat build with the lazy module in its own chunk and points out/cli at it', async () => {
    const { dir } = await buildCli({ root, quiet: true });
    expect(fs.realpathSync(path.join(root, 'out', 'cli'))).toBe(fs.realpathSync(dir));
    const files = fs.readdirSync(dir);
    expect(files.every((f) => !fs.statSync(path.join(dir, f)).isDirectory())).toBe(true);
    expect(files.some((f) => /^lazy-.*\.js$/.test(f))).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'pilotctl.js'), 'utf8')).not.toContain('toUpperCase');
    const stamp = JSON.parse(fs.readFileSync(path.join(dir, 'build.json'), 'utf8')) as { builtAt: number; inputs: string[] };
    expect(stamp.inputs).toEqual(['main/cli/entry.ts', 'main/cli/lazy.ts', 'main/cli/word.ts']);
  });

  it('reuses the directory of identical sources; a change makes a new one and keeps the old one for its running processes', async () => {
    const first = await buildCli({ root, quiet: true });
    const again = await buildCli({ root, quiet: true });
    expect(again.dir).toBe(first.dir);
    write('main/cli/word.ts', "export const WORD: string = 'two';\n");
    backdate();
    const second = await buildCli({ root, quiet: true });
    expect(second.dir).not.toBe(first.dir);
    expect(builds()).toEqual([path.basename(first.dir), path.basename(second.dir)].sort());
    // superseded over an hour ago: the next build deletes it
    const old = new Date(Date.now() - 2 * 3600_000);
    fs.utimesSync(first.dir, old, old);
    await buildCli({ root, quiet: true });
    expect(builds()).toEqual([path.basename(second.dir)]);
  });
});

describe('bin/pilotctl.mjs', () => {
  it('runs the build when it is current, else the sources through tsx', async () => {
    expect(await pilotctl()).toBe('ONE(3) a,b sources'); // no build yet
    await buildCli({ root, quiet: true });
    expect(await pilotctl()).toBe('ONE(3) a,b compiled');
    expect(await pilotctl({ PILOT_DEV: '1' })).toBe('ONE(3) a,b sources');
    // an edit after the build: the sources run (current code), until the next build
    write('main/cli/lazy.ts', "import { WORD } from './word';\nexport const shout = (s: string): string => `${s}!`;\n");
    expect(await pilotctl()).toBe('one! a,b sources');
    fs.rmSync(path.join(root, 'main/cli/word.ts'));
    write('main/cli/word.ts', "export const WORD: string = 'three';\n");
    backdate();
    await buildCli({ root, quiet: true });
    expect(await pilotctl()).toBe('three! a,b compiled');
  });
});
