/** `daemon start|stop|status` and the hidden `_daemon-run` (cli.md §4.1). */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { PilotError, toPilotError } from '../../../shared/errors';
import { formatAddress } from '../../../shared/address';
import { IpcClient, socketAnswers } from '../../daemon/client';
import type { DaemonOptions } from '../../daemon/daemon';
import type { InfoJson } from '../../daemon/info';
import { validateWebhookUrl } from '../../daemon/webhook';
import { otlpTracesUrl } from '../../observe/otlp-push';
import { checkMetricsListen } from '../../observe/metrics-http';
import { backboneShorthand, parseAddressList } from '../../node/backbone-failover';
import {
  configList,
  configString,
  DEFAULT_BEACON,
  DEFAULT_REGISTRY,
  ensureHome,
  pilotPaths,
  processAlive,
  readConfig,
  readPid,
  removePid,
  writePid,
  type PilotPaths,
} from '../../daemon/paths';
import { LOG_LEVELS, type LogLevel } from '../../util/log';
import type { CommandContext, CommandResult } from '../command';
import { pilotctlBin } from '../package-root';
import { formatUptime, okEnvelope } from '../output';
import { bool, socketOf, str } from './util';

const READY_TIMEOUT_MS = 15_000;

/** Flags of `daemon start` that are passed on to the background process. */
const PASSED = ['hostname', 'registry', 'beacon', 'netcheck', 'backbone', 'listen', 'socket', 'identity', 'owner', 'tags', 'log-level', 'config', 'webhook', 'otlp-endpoint', 'metrics'] as const;
const PASSED_BOOL = ['public', 'no-encrypt', 'metrics-public'] as const;

function fileConfig(ctx: CommandContext): Record<string, unknown> {
  const f = str(ctx, 'config');
  if (!f) return {};
  try {
    const v = JSON.parse(fs.readFileSync(f, 'utf8')) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch (e) {
    throw new PilotError('invalid_argument', `cannot read --config ${f}: ${(e as Error).message}`);
  }
  throw new PilotError('invalid_argument', `--config ${f} is not a JSON object`);
}

function parseTags(t: string | undefined): string[] {
  if (!t) return [];
  const tags = t.split(',').map((s) => s.trim()).filter(Boolean);
  if (tags.length > 3) throw new PilotError('invalid_argument', `--tags: maximum 3 tags allowed, got ${tags.length}`);
  return tags;
}

/**
 * Daemon options from flags, $PILOT_REGISTRY/$PILOT_BEACON, --config, config.json and defaults.
 * `registry` and `beacon` may list several backbone instances (`a:9000,b:9000`, or arrays in a config
 * file; `--backbone hostA,hostB`): checked here, passed on as one comma-separated string.
 */
export function daemonOptions(ctx: CommandContext, paths: PilotPaths): DaemonOptions {
  const cfg = readConfig(paths);
  const fc = fileConfig(ctx);
  const backboneFlag = str(ctx, 'backbone');
  const backbone = backboneFlag ? backboneShorthand(backboneFlag) : undefined;
  const pick = (flag: string, env: string | undefined, ...cfgs: (string | undefined)[]): string | undefined => str(ctx, flag) ?? env ?? cfgs.find((x) => x !== undefined);
  const registry = pick('registry', backbone?.registry, ctx.env['PILOT_REGISTRY'] || undefined, configList(fc, 'registry'), configList(cfg, 'registry')) ?? DEFAULT_REGISTRY;
  const beacon = pick('beacon', backbone?.beacon, ctx.env['PILOT_BEACON'] || undefined, configList(fc, 'beacon'), configList(cfg, 'beacon')) ?? DEFAULT_BEACON;
  parseAddressList(registry, 'registry'); // refused here, before a background daemon starts
  parseAddressList(beacon, 'beacon');
  const level = str(ctx, 'log-level') ?? configString(fc, 'log-level') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new PilotError('invalid_argument', `invalid --log-level "${level}"`, `one of ${LOG_LEVELS.join('|')}`);
  const listen = str(ctx, 'listen') ?? configString(fc, 'listen');
  const hostname = str(ctx, 'hostname') ?? configString(fc, 'hostname') ?? configString(cfg, 'hostname');
  const owner = str(ctx, 'owner') ?? configString(fc, 'owner');
  const webhook = str(ctx, 'webhook') ?? configString(cfg, 'webhook');
  if (webhook) {
    try {
      validateWebhookUrl(webhook);
    } catch (e) {
      if (str(ctx, 'webhook') !== undefined) throw e;
      throw new PilotError('invalid_argument', `${toPilotError(e).message} (from ${paths.config})`, 'fix it with: pilotctl set-webhook <url>, or pilotctl clear-webhook');
    }
  }
  const o: DaemonOptions = {
    paths,
    socketPath: socketOf(ctx),
    registry,
    beacon,
    identityPath: str(ctx, 'identity') ?? configString(fc, 'identity') ?? paths.identity,
    tags: parseTags(str(ctx, 'tags')),
    public: bool(ctx, 'public') || fc['public'] === true,
    encrypt: !bool(ctx, 'no-encrypt') && fc['encrypt'] !== false,
    logLevel: level as LogLevel,
  };
  if (listen) o.listen = listen.startsWith(':') ? `0.0.0.0${listen}` : listen;
  if (hostname) o.hostname = hostname;
  if (owner) o.owner = owner;
  if (webhook) o.webhook = webhook;
  const otlp = str(ctx, 'otlp-endpoint') ?? configString(fc, 'otlp-endpoint');
  if (otlp) {
    try {
      otlpTracesUrl(otlp);
    } catch (e) {
      throw new PilotError('invalid_argument', `invalid --otlp-endpoint "${otlp}": ${toPilotError(e).message}`, 'an http(s) URL, e.g. http://127.0.0.1:4318');
    }
    o.otlpEndpoint = otlp;
  }
  const netcheck = str(ctx, 'netcheck') ?? configString(fc, 'netcheck');
  if (netcheck) o.netcheck = netcheck;
  const metrics = str(ctx, 'metrics') ?? configString(fc, 'metrics');
  if (metrics) {
    o.metricsPublic = bool(ctx, 'metrics-public') || fc['metrics-public'] === true;
    checkMetricsListen(metrics, o.metricsPublic); // refused here, before a background daemon starts
    o.metrics = metrics;
  }
  return o;
}

async function infoAt(socket: string): Promise<InfoJson | undefined> {
  let c: IpcClient;
  try {
    c = await IpcClient.connect(socket, 1000);
  } catch {
    return undefined;
  }
  try {
    return await Promise.race([c.info(), new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000))]);
  } catch {
    return undefined;
  } finally {
    c.close();
  }
}

function startedData(pid: number, info: Pick<InfoJson, 'node_id' | 'address' | 'hostname'>, socket: string, log: string): Record<string, unknown> {
  return { pid, node_id: info.node_id, address: info.address, hostname: info.hostname, socket, log_file: log };
}

function startedText(pid: number, info: Pick<InfoJson, 'address' | 'hostname'>, socket: string, log: string): string {
  return [
    `Daemon running (pid ${pid})`,
    `  Address:  ${info.address}`,
    ...(info.hostname ? [`  Hostname: ${info.hostname}`] : []),
    `  Socket:   ${socket}`,
    `  Logs:     ${log}`,
  ].join('\n');
}

function tail(file: string, lines = 5): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Last error message in a JSON-lines log, if any. */
function lastLoggedError(file: string): string | undefined {
  for (const line of tail(file, 20).split('\n').reverse()) {
    try {
      const r = JSON.parse(line) as { level?: string; msg?: string; error?: string };
      if (r.level === 'error') return r.error ? `${r.msg}: ${r.error}` : r.msg;
    } catch {
      // not JSON
    }
  }
  return undefined;
}

async function refuseIfRunning(paths: PilotPaths, socket: string): Promise<void> {
  const pid = readPid(paths);
  if ((pid !== undefined && processAlive(pid) && pid !== process.pid) || (await socketAnswers(socket))) {
    throw new PilotError('already_exists', `daemon is already running${pid !== undefined && processAlive(pid) ? ` (pid ${pid})` : ''} on ${socket}`, 'stop it first with: pilotctl daemon stop');
  }
}

/**
 * V8 flags of the background daemon. A daemon is a long-lived process whose young generation V8
 * sizes for throughput (16 MiB semi-spaces here): a young generation of 2 MiB semi-spaces keeps a
 * daemon holding 100 tunnels, a stream each, under 80 MB RSS (BENCHMARKS.md, "npm run bench") at no
 * measured cost in stream throughput. `PILOT_DAEMON_SEMI_SPACE_MB` sets another size; 0 leaves
 * V8's default.
 */
export function daemonV8Flags(env: NodeJS.ProcessEnv): string[] {
  const raw = env['PILOT_DAEMON_SEMI_SPACE_MB'];
  const mb = raw === undefined || raw === '' ? 2 : Number(raw);
  if (!Number.isInteger(mb) || mb < 0 || mb > 256) {
    throw new PilotError('invalid_argument', `PILOT_DAEMON_SEMI_SPACE_MB must be a whole number of MiB from 0 to 256, not ${JSON.stringify(raw)}`, "unset it for the default (2), or 0 for V8's own");
  }
  return mb === 0 ? [] : [`--max-semi-space-size=${mb}`];
}

export async function daemonStart(ctx: CommandContext): Promise<CommandResult> {
  const paths = pilotPaths(ctx.env);
  const opts = daemonOptions(ctx, paths); // validates flags before anything starts
  await refuseIfRunning(paths, opts.socketPath);
  if (bool(ctx, 'foreground')) return foreground(ctx, opts);

  ensureHome(paths);
  const args = [...daemonV8Flags(ctx.env), pilotctlBin(), '_daemon-run'];
  for (const k of PASSED) {
    const v = str(ctx, k);
    if (v !== undefined) args.push(`--${k}`, v);
  }
  if (str(ctx, 'socket') === undefined) args.push('--socket', opts.socketPath);
  for (const k of PASSED_BOOL) if (bool(ctx, k)) args.push(`--${k}`);
  const logFd = fs.openSync(paths.log, 'a', 0o600);
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', logFd, logFd], env: ctx.env });
  fs.closeSync(logFd);
  const pid = child.pid;
  if (pid === undefined) throw new PilotError('internal', 'could not start the daemon process');
  writePid(paths, pid);
  let exited: number | null | undefined;
  child.once('exit', (code, signal) => (exited = code ?? (signal ? 128 : 1)));
  child.unref();
  if (!ctx.json) ctx.err(`starting daemon (pid ${pid})...`);

  const started = Date.now();
  let lastDot = started;
  for (;;) {
    const info = await infoAt(opts.socketPath);
    if (info) {
      if (!ctx.json) ctx.err('\n');
      return { data: startedData(pid, info, opts.socketPath, paths.log), text: startedText(pid, info, opts.socketPath, paths.log) };
    }
    if (exited !== undefined) {
      if (!ctx.json) ctx.err('\n');
      removePid(paths, pid);
      const why = lastLoggedError(paths.log);
      throw new PilotError('internal', `daemon exited (status ${exited}) before becoming ready${why ? `: ${why}` : ''}`, `check logs: tail -n 20 ${paths.log}`);
    }
    if (Date.now() - started > READY_TIMEOUT_MS) {
      if (!ctx.json) ctx.err('\n');
      throw new PilotError('timeout', `daemon started (pid ${pid}) but did not become ready within 15s`, `check logs: tail -f ${paths.log}`);
    }
    if (!ctx.json && Date.now() - lastDot >= 1000) {
      ctx.err('.');
      lastDot = Date.now();
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** In-process daemon (`--foreground`, and the background process `_daemon-run`). */
async function foreground(ctx: CommandContext, opts: DaemonOptions): Promise<CommandResult> {
  let code: number;
  try {
    const { runDaemon } = await import('../../daemon/daemon');
    code = await runDaemon({
      ...opts,
      onReady: (d) => {
        const info = { node_id: d.node.nodeId, address: formatAddress(d.node.address), hostname: d.node.hostname };
        if (ctx.json) ctx.out(okEnvelope(startedData(process.pid, info, opts.socketPath, opts.paths.log)) + '\n');
        else ctx.out(startedText(process.pid, info, opts.socketPath, opts.paths.log) + '\n');
      },
    });
  } catch (e) {
    const pe = toPilotError(e);
    process.stderr.write(JSON.stringify({ t: new Date().toISOString(), level: 'error', msg: 'daemon failed to start', error: pe.message, code: pe.code }) + '\n');
    throw pe;
  }
  return { data: {}, printed: true, exit: code };
}

export async function daemonRun(ctx: CommandContext): Promise<CommandResult> {
  const paths = pilotPaths(ctx.env);
  return foreground(ctx, daemonOptions(ctx, paths));
}

export async function daemonStop(ctx: CommandContext): Promise<CommandResult> {
  const paths = pilotPaths(ctx.env);
  const socket = socketOf(ctx);
  const pid = readPid(paths);
  if (pid === undefined) {
    if (await socketAnswers(socket)) {
      throw new PilotError('not_running', 'daemon socket is active but PID file is missing', `find the process with: lsof ${socket}`);
    }
    throw new PilotError('not_running', 'daemon is not running', 'start the daemon with: pilotctl daemon start');
  }
  if (!processAlive(pid)) {
    removePid(paths);
    if (!(await socketAnswers(socket))) {
      try {
        fs.unlinkSync(socket);
      } catch {
        // not there
      }
    }
    throw new PilotError('not_running', 'daemon is not running (cleaned up stale state)', 'start the daemon with: pilotctl daemon start');
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (!processAlive(pid)) {
      removePid(paths);
      return { data: { pid }, text: `daemon stopped (pid ${pid})` };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
  removePid(paths);
  try {
    fs.unlinkSync(socket);
  } catch {
    // not there
  }
  return { data: { pid, forced: true }, text: `daemon force-stopped (pid ${pid})` };
}

export async function daemonStatus(ctx: CommandContext): Promise<CommandResult> {
  const paths = pilotPaths(ctx.env);
  const socket = socketOf(ctx);
  const pid = readPid(paths);
  const alive = pid !== undefined && processAlive(pid);
  const info = await infoAt(socket);
  if (bool(ctx, 'check')) return { data: null, printed: true, exit: info ? 0 : 1 };
  if (!info) {
    return {
      data: { running: alive, pid: alive ? pid : 0, pid_file: paths.pid, socket, responsive: false },
      text: alive ? `Daemon: running (pid ${pid}) but not responding on ${socket}\n  check logs: tail -f ${paths.log}` : 'Daemon: stopped\n  start with: pilotctl daemon start',
    };
  }
  const data = {
    running: true,
    responsive: true,
    pid: alive ? pid : 0,
    pid_file: paths.pid,
    socket,
    node_id: info.node_id,
    address: info.address,
    hostname: info.hostname,
    uptime_secs: info.uptime_secs,
    peers: info.peers,
    connections: info.connections,
  };
  const text = [
    alive ? `Daemon: running (pid ${pid})` : 'Daemon: stopped',
    `  Node ID:     ${info.node_id}`,
    `  Address:     ${info.address}`,
    ...(info.hostname ? [`  Hostname:    ${info.hostname}`] : []),
    `  Uptime:      ${formatUptime(info.uptime_secs)}`,
    `  Peers:       ${info.peers}`,
    `  Connections: ${info.connections}`,
  ].join('\n');
  return { data, text };
}

