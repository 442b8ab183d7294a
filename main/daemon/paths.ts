/**
 * Where a node keeps its state (cli.md §1): PILOT_HOME (default ~/.pilot) holds config.json,
 * identity.key, trust.json and the services' mailboxes (the services' dataDir is PILOT_HOME),
 * pilot.pid and pilot.log. The IPC socket path: an explicit flag, $PILOT_SOCKET, config `socket`,
 * else /tmp/pilot.sock.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PilotError } from '../../shared/errors';

export const DEFAULT_SOCKET = '/tmp/pilot.sock';
export const DEFAULT_REGISTRY = '127.0.0.1:9000';
export const DEFAULT_BEACON = '127.0.0.1:9001';

export interface PilotPaths {
  home: string;
  config: string;
  identity: string;
  trust: string;
  pid: string;
  log: string;
  /** The built-in services' data directory (received/, inbox/, tasks/, trust.json). */
  dataDir: string;
  /** The backbone's default data directory. */
  backboneData: string;
}

type Env = NodeJS.ProcessEnv;

export function pilotHome(env: Env = process.env): string {
  const h = env['PILOT_HOME'];
  if (h) return path.resolve(h);
  return path.join(env['HOME'] || os.homedir(), '.pilot');
}

export function pilotPaths(env: Env = process.env): PilotPaths {
  const home = pilotHome(env);
  return {
    home,
    config: path.join(home, 'config.json'),
    identity: path.join(home, 'identity.key'),
    trust: path.join(home, 'trust.json'),
    pid: path.join(home, 'pilot.pid'),
    log: path.join(home, 'pilot.log'),
    dataDir: home,
    backboneData: path.join(home, 'backbone'),
  };
}

export function ensureHome(p: PilotPaths): void {
  fs.mkdirSync(p.home, { recursive: true, mode: 0o700 });
}

export type PilotConfig = Record<string, unknown>;

/** config.json as an object ({} when absent); a malformed file is an error, never overwritten silently. */
export function readConfig(p: PilotPaths): PilotConfig {
  let text: string;
  try {
    text = fs.readFileSync(p.config, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new PilotError('internal', `cannot read ${p.config}: ${(e as Error).message}`);
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as PilotConfig;
  } catch {
    // fall through
  }
  throw new PilotError('invalid_argument', `${p.config} is not a JSON object`, `fix or remove ${p.config}`);
}

/** Writes config.json (2-space indent, dir 0700, file 0600), atomically. */
export function writeConfig(p: PilotPaths, cfg: PilotConfig): void {
  ensureHome(p);
  const tmp = `${p.config}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(cfg, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, p.config);
}

export function configString(cfg: PilotConfig, key: string): string | undefined {
  const v = cfg[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A string, or an array of strings joined with commas (`registry`/`beacon` lists), or undefined. */
export function configList(cfg: PilotConfig, key: string): string | undefined {
  const v = cfg[key];
  if (Array.isArray(v)) {
    const parts = v.filter((x): x is string => typeof x === 'string' && x !== '');
    return parts.length ? parts.join(',') : undefined;
  }
  return configString(cfg, key);
}

/** Socket path: explicit value, $PILOT_SOCKET, config `socket`, default /tmp/pilot.sock. */
export function resolveSocketPath(env: Env = process.env, explicit?: string): string {
  if (explicit) return explicit;
  if (env['PILOT_SOCKET']) return env['PILOT_SOCKET'];
  let cfg: PilotConfig = {};
  try {
    cfg = readConfig(pilotPaths(env));
  } catch {
    // a broken config must not hide the daemon
  }
  return configString(cfg, 'socket') ?? DEFAULT_SOCKET;
}

/** Registry address for direct CLI calls: $PILOT_REGISTRY, config `registry`, default. */
export function resolveRegistry(env: Env = process.env, explicit?: string): string {
  if (explicit) return explicit;
  if (env['PILOT_REGISTRY']) return env['PILOT_REGISTRY'];
  let cfg: PilotConfig = {};
  try {
    cfg = readConfig(pilotPaths(env));
  } catch {
    // ignore
  }
  return configList(cfg, 'registry') ?? DEFAULT_REGISTRY;
}

/** The pid in the pid file, or undefined. */
export function readPid(p: PilotPaths): number | undefined {
  try {
    const n = Number(fs.readFileSync(p.pid, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

export function writePid(p: PilotPaths, pid: number): void {
  ensureHome(p);
  fs.writeFileSync(p.pid, `${pid}\n`, { mode: 0o600 });
}

/** Removes the pid file if it still names `pid` (or unconditionally when pid is undefined). */
export function removePid(p: PilotPaths, pid?: number): void {
  if (pid !== undefined && readPid(p) !== pid) return;
  try {
    fs.unlinkSync(p.pid);
  } catch {
    // already gone
  }
}

/** True when `pid` is a live process (a zombie waiting to be reaped by init counts as gone). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ..." — the state follows the last ')'.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no procfs (macOS): the signal test is all we have
  }
}
