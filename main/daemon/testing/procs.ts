/**
 * Real-process helpers for daemon/CLI integration tests: run `pilotctl` as a child process with its
 * own PILOT_HOME and socket, start a backbone process and learn its ephemeral ports from the
 * `--json` readiness line (never a sleep).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const PILOTCTL = fileURLToPath(new URL('../../../bin/pilotctl.mjs', import.meta.url));

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Home {
  home: string;
  socket: string;
  env: NodeJS.ProcessEnv;
}

export function makeHome(dir: string, name: string): Home {
  const home = `${dir}/${name}`;
  const socket = `${dir}/${name}.sock`;
  const env: NodeJS.ProcessEnv = { ...process.env, PILOT_HOME: home, PILOT_SOCKET: socket, HOME: dir };
  delete env['PILOT_REGISTRY'];
  delete env['PILOT_BEACON'];
  return { home, socket, env };
}

export function pilotctl(env: NodeJS.ProcessEnv, args: string[], timeoutMs = 40_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [PILOTCTL, ...args], { env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Parses the JSON envelope a `--json` command printed (stdout on success, stderr on error). */
export function envelope(r: RunResult): Record<string, unknown> {
  const text = (r.code === 0 ? r.stdout : r.stderr).trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`not a JSON envelope (exit ${r.code}): stdout=${r.stdout} stderr=${r.stderr}`);
  }
}

export interface BackboneProc {
  proc: ChildProcess;
  registry: string;
  beacon: string;
  netcheck: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** `pilotctl --json backbone start` on ephemeral ports (plus `extraArgs`, e.g. `--etcd ...`); resolves at its readiness line. */
export function startBackboneProc(env: NodeJS.ProcessEnv, dataDir: string, extraArgs: readonly string[] = []): Promise<BackboneProc> {
  const proc = spawn(process.execPath, [PILOTCTL, '--json', 'backbone', 'start', '--registry', '127.0.0.1:0', '--beacon', '127.0.0.1:0', '--data', dataDir, ...extraArgs], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (c: Buffer): void => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      proc.stdout!.off('data', onData);
      try {
        const env = JSON.parse(out.slice(0, nl)) as { data: { registry: string; beacon: string; netcheck: string } };
        resolve({ proc, registry: env.data.registry, beacon: env.data.beacon, netcheck: env.data.netcheck, stderr: () => err, exited });
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    };
    proc.stdout!.on('data', onData);
    exited.then((code) => reject(new Error(`backbone exited (${code}) before ready: ${err}`)), reject);
  });
}
