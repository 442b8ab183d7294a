/** Small helpers the benchmarks share: flags, medians, and a child process that speaks JSON lines. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** `--name N` from the command line, or `def`. */
export function numArg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
export const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

/**
 * Runs `script` (TypeScript, through tsx) as a child whose stdout is one JSON object per line;
 * `next()` resolves with the next line. `nodeArgs` go before the script (e.g. --cpu-prof).
 */
export function jsonChild(script: string, args: string[], nodeArgs: string[] = []): { child: ChildProcess; next: () => Promise<Record<string, unknown>> } {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const rl = createInterface({ input: child.stdout! });
  const queue: Record<string, unknown>[] = [];
  const waiters: ((v: Record<string, unknown>) => void)[] = [];
  rl.on('line', (l) => {
    const v = JSON.parse(l) as Record<string, unknown>;
    const w = waiters.shift();
    if (w) w(v);
    else queue.push(v);
  });
  return { child, next: () => new Promise((r) => (queue.length ? r(queue.shift()!) : waiters.push(r))) };
}

const ROOT = path.resolve(import.meta.dirname, '..');

/** Builds pilotctl into out/cli (scripts/build-cli.mjs). */
export function buildCli(): void {
  const build = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build-cli.mjs')], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`build failed: ${build.stderr}`);
  process.stderr.write(build.stdout);
}

/**
 * Which build out/cli is, if bin/pilotctl.mjs would run it (the same check: no source newer than
 * it); undefined when a pilotctl started now would run the TypeScript sources through tsx.
 */
export function currentBuild(): string | undefined {
  try {
    const target = fs.readlinkSync(path.join(ROOT, 'out', 'cli'));
    const stamp = JSON.parse(fs.readFileSync(path.join(ROOT, 'out', target, 'build.json'), 'utf8')) as { builtAt: number; inputs: string[] };
    return stamp.inputs.every((f) => fs.statSync(path.join(ROOT, f)).mtimeMs <= stamp.builtAt) ? target : undefined;
  } catch {
    return undefined;
  }
}
