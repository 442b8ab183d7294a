/**
 * `pilotctl gateway start|stop|map|unmap|list` (cli.md §4, services.md): local IPs of a subnet
 * (10.4.0.0/16) added to the loopback device and mapped to Pilot addresses; TCP connections to a
 * mapped IP at a proxied port become Pilot streams to that address and port, so unmodified programs
 * (curl, an agent framework's HTTP client) reach a peer's service through the tunnel.
 *
 * `start` runs the gateway in this process until SIGINT/SIGTERM (as the reference does) and needs
 * root; the other sub-commands talk to it over its control socket (main/gateway/control.ts).
 */
import { PilotError } from '../../../shared/errors';
import { createLogger, jsonLineSink } from '../../util/log';
import { installProcessGuard } from '../../util/process-guard';
import { pilotHome } from '../../daemon/paths';
import { LoopbackAddresses } from '../../gateway/addresses';
import { controlRequest, GATEWAY_NOT_RUNNING_HINT } from '../../gateway/control';
import { DEFAULT_PORTS, DEFAULT_SUBNET, Gateway, cleanStale } from '../../gateway/gateway';
import { ipcDialer } from '../../gateway/ipc-dialer';
import type { Mapping } from '../../gateway/mapping';
import { gatewayPaths, processAlive, readState } from '../../gateway/state';
import type { CommandContext, CommandResult } from '../command';
import { okEnvelope } from '../output';
import { arg, parsePort, resolveTarget, socketOf, str, usageError, withDaemon } from './util';
import { readFile } from 'node:fs/promises';

interface MappingJson {
  local_ip: string;
  pilot_addr: string;
}
const toJson = (m: Mapping): MappingJson => ({ local_ip: m.localIp, pilot_addr: m.pilotAddr });
const line = (m: Mapping): string => `${m.localIp} → ${m.pilotAddr}`;

function parsePorts(text: string | undefined): number[] {
  if (text === undefined) return [...DEFAULT_PORTS];
  const ports = text.split(',').map((p) => p.trim()).filter((p) => p !== '').map(parsePort);
  if (ports.length === 0 || ports.includes(0)) throw new PilotError('invalid_argument', `invalid --ports "${text}"`, 'a comma-separated list of TCP ports 1..65535, e.g. 80,8080');
  return [...new Set(ports)];
}

function paths(ctx: CommandContext): ReturnType<typeof gatewayPaths> {
  return gatewayPaths(pilotHome(ctx.env));
}

export async function gatewayStart(ctx: CommandContext): Promise<CommandResult> {
  const subnet = str(ctx, 'subnet') ?? DEFAULT_SUBNET;
  const ports = parsePorts(str(ctx, 'ports'));
  const socket = socketOf(ctx);
  // The daemon must answer (as the reference's start connects first); targets resolve through it.
  const targets = await withDaemon(ctx, async (c) => {
    await c.info();
    const out = [];
    for (const a of ctx.args) out.push(await resolveTarget(ctx, c, a));
    return out;
  });
  const log = createLogger({ level: 'info', sinks: [jsonLineSink((l) => process.stderr.write(l))], fields: { component: 'gateway', pid: process.pid } });
  const gw = await Gateway.start({ home: pilotHome(ctx.env), subnet, ports, dialer: ipcDialer(socket), addresses: new LoopbackAddresses(), log });
  // A fatal error still removes the addresses (bounded); a kill -9 leaves them to the state file.
  const guard = installProcessGuard(log, { onFatal: () => gw.stop(), fatalStopMs: 5000 });
  const mappings: Mapping[] = [];
  try {
    for (const t of targets) mappings.push(await gw.map(t.address));
  } catch (e) {
    guard.dispose();
    await gw.stop();
    throw e;
  }
  const data = { pid: process.pid, subnet: gw.subnet, mappings: mappings.map(toJson) };
  if (ctx.json) ctx.out(okEnvelope(data) + '\n');
  else ctx.out([...mappings.map((m) => `mapped ${line(m)}`), `gateway running (subnet ${gw.subnet}, ports ${gw.ports.join(',')}; Ctrl-C to stop)`].join('\n') + '\n');
  await ctx.interrupted;
  try {
    await gw.stop();
  } finally {
    guard.dispose();
  }
  return { data: {}, printed: true };
}

async function readPid(file: string): Promise<number | undefined> {
  try {
    const n = Number((await readFile(file, 'utf8')).trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

export async function gatewayStop(ctx: CommandContext): Promise<CommandResult> {
  const p = paths(ctx);
  const pid = (await readPid(p.pid)) ?? (await readState(p.state))?.pid;
  const log = createLogger({ level: 'warn', sinks: [jsonLineSink((l) => process.stderr.write(l))], fields: { component: 'gateway' } });
  if (pid === undefined || !processAlive(pid)) {
    // Not running: remove what a gateway that died left behind.
    const removed = await cleanStale(p, new LoopbackAddresses(), log);
    const stale = pid !== undefined || removed.length > 0;
    throw new PilotError('not_running', stale ? `gateway is not running (cleaned up stale state${removed.length > 0 ? `: removed ${removed.join(', ')}` : ''})` : 'gateway is not running', GATEWAY_NOT_RUNNING_HINT);
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (!processAlive(pid)) return { data: { pid }, text: `gateway stopped (pid ${pid})` };
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
  for (let i = 0; i < 50 && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  await cleanStale(p, new LoopbackAddresses(), log);
  return { data: { pid, forced: true }, text: `gateway force-stopped (pid ${pid})` };
}

const MAP_USAGE = 'gateway map <address|hostname> [local_ip]';

export async function gatewayMap(ctx: CommandContext): Promise<CommandResult> {
  const target = arg(ctx, 0, 'address|hostname', MAP_USAGE);
  const ip = ctx.args[1];
  if (ctx.args.length > 2) throw usageError('too many arguments', MAP_USAGE);
  const t = await withDaemon(ctx, (c) => resolveTarget(ctx, c, target));
  const m = (await controlRequest(paths(ctx).control, { op: 'map', addr: t.text, ...(ip ? { ip } : {}) })) as Mapping;
  return { data: toJson(m), text: `mapped ${line(m)}` };
}

export async function gatewayUnmap(ctx: CommandContext): Promise<CommandResult> {
  const ip = arg(ctx, 0, 'local_ip', 'gateway unmap <local_ip>');
  await controlRequest(paths(ctx).control, { op: 'unmap', ip });
  return { data: { unmapped: ip }, text: `unmapped ${ip}` };
}

export async function gatewayList(ctx: CommandContext): Promise<CommandResult> {
  const ms = (await controlRequest(paths(ctx).control, { op: 'list' })) as Mapping[];
  const text = ms.length === 0 ? 'no mappings' : [...ms.map(line), `total: ${ms.length}`].join('\n');
  return { data: { mappings: ms.map(toJson), total: ms.length }, text };
}
