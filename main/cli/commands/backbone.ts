/** `backbone start` (foreground registry + beacon) and `backbone status`. */
import fs from 'node:fs';
import { PilotError, toPilotError } from '../../../shared/errors';
import { startBackbone } from '../../backbone';
import { pilotPaths, resolveRegistry } from '../../daemon/paths';
import { RegistryClient } from '../../node/registry-client';
import { createLogger, jsonLineSink, LOG_LEVELS, type LogLevel } from '../../util/log';
import { installProcessGuard } from '../../util/process-guard';
import type { CommandContext, CommandResult } from '../command';
import { okEnvelope } from '../output';
import { str } from './util';

function listenAddr(v: string): string {
  return v.startsWith(':') ? `0.0.0.0${v}` : v;
}

export async function backboneStart(ctx: CommandContext): Promise<CommandResult> {
  const level = str(ctx, 'log-level') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new PilotError('invalid_argument', `invalid --log-level "${level}"`, `one of ${LOG_LEVELS.join('|')}`);
  const etcdEndpoints = (str(ctx, 'etcd') ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  const etcdPrefix = str(ctx, 'etcd-prefix');
  if (etcdPrefix !== undefined && etcdEndpoints.length === 0) throw new PilotError('invalid_argument', '--etcd-prefix needs --etcd');
  for (const u of etcdEndpoints) {
    if (!/^https?:\/\/[^/\s]+$/.test(u)) throw new PilotError('invalid_argument', `invalid etcd endpoint "${u}"`, 'use client URLs such as http://127.0.0.1:2379');
  }
  const etcd = etcdEndpoints.length > 0 ? { endpoints: etcdEndpoints, ...(etcdPrefix ? { prefix: etcdPrefix } : {}) } : undefined;
  const dataDir = etcd ? undefined : (str(ctx, 'data') ?? pilotPaths(ctx.env).backboneData);
  if (dataDir) fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const logger = createLogger({ level: level as LogLevel, sinks: [jsonLineSink((l) => process.stderr.write(l))], fields: { pid: process.pid } });
  if (etcd && str(ctx, 'data') !== undefined) logger.warn('--data is not used with --etcd: the directory lives in etcd');
  const adminToken = str(ctx, 'admin-token');
  const bb = await startBackbone({
    registry: listenAddr(str(ctx, 'registry') ?? ':9000'),
    beacon: listenAddr(str(ctx, 'beacon') ?? ':9001'),
    ...(dataDir ? { dataDir } : {}),
    ...(etcd ? { etcd } : {}),
    logger,
    ...(adminToken ? { adminToken } : {}),
    ...(str(ctx, 'netcheck') ? { netcheck: listenAddr(str(ctx, 'netcheck')!) } : {}),
  });
  const guard = installProcessGuard(logger, { onFatal: () => bb.close() });
  const registry = `${bb.registryAddress.host}:${bb.registryAddress.port}`;
  const beacon = `${bb.beaconAddress.host}:${bb.beaconAddress.port}`;
  const netcheck = bb.netcheckAddress ? `${bb.netcheckAddress.host}:${bb.netcheckAddress.port}` : undefined;
  const store = etcd ? { etcd: etcd.endpoints, etcd_prefix: bb.status().etcd?.prefix } : { data_dir: dataDir };
  logger.info('backbone ready', { registry, beacon, netcheck, ...store });
  // The readiness line: one JSON envelope (--json) or the text block, printed once listening.
  const data = { registry, beacon, netcheck, ...store, pid: process.pid };
  const where = etcd ? `  Etcd:     ${etcd.endpoints.join(',')} (prefix ${store.etcd_prefix ?? ''})` : `  Data:     ${dataDir}`;
  if (ctx.json) ctx.out(okEnvelope(data) + '\n');
  else ctx.out(`Backbone running (pid ${process.pid})\n  Registry: ${registry}\n  Beacon:   ${beacon}\n  Netcheck: ${netcheck ?? 'off'}\n${where}\n`);
  await ctx.interrupted;
  logger.info('backbone stopping');
  await bb.close();
  guard.dispose();
  return { data: null, printed: true };
}

export async function backboneStatus(ctx: CommandContext): Promise<CommandResult> {
  const address = resolveRegistry(ctx.env, str(ctx, 'registry'));
  const rc = new RegistryClient({ address, reconnectAttempts: 1, connectTimeoutMs: 3000, timeoutMs: 5000 });
  const started = performance.now();
  try {
    const nets = await rc.listNetworks();
    const rtt = performance.now() - started;
    const found = await rc.findNodes({}).catch(() => undefined);
    const groups = nets.networks.filter((n) => n.id !== 0);
    const data = {
      registry: address,
      reachable: true,
      rtt_ms: Math.round(rtt * 1000) / 1000,
      groups: groups.length,
      nodes: found?.nodes.length,
      online: found?.nodes.filter((n) => n.online).length,
    };
    const text = [
      `Backbone at ${address}: reachable (${data.rtt_ms.toFixed(1)}ms)`,
      ...(data.nodes !== undefined ? [`  Nodes:  ${data.nodes} visible, ${data.online} online`] : []),
      `  Groups: ${data.groups}`,
    ].join('\n');
    return { data, text };
  } catch (e) {
    const pe = toPilotError(e);
    if (pe.code === 'connection_failed' || pe.code === 'timeout') {
      throw new PilotError('connection_failed', `cannot reach registry at ${address}`, `check that the registry is running at ${address}, or set PILOT_REGISTRY`);
    }
    throw pe;
  } finally {
    rc.close();
  }
}
