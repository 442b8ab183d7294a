/**
 * Discovery and identity: info, find, lookup, hostname, visibility, tags, peers, deregister,
 * enable-/disable-tasks, set-/clear-webhook (cli.md §4.2–4.3, §5).
 */
import { PilotError, toPilotError } from '../../../shared/errors';
import type { FoundNodeView, PeerView } from '../../../shared/contract';
import type { InfoJson } from '../../daemon/info';
import { IpcClient } from '../../daemon/client';
import { pilotPaths, readConfig, resolveRegistry, writeConfig } from '../../daemon/paths';
import type { CommandContext, CommandResult } from '../command';
import { formatBytes, formatUptime } from '../output';
import { arg, fmtMs, pad, parseNodeId, registryUnreachable, socketOf, str, withDaemon } from './util';

export function infoText(i: InfoJson): string {
  const lines = [
    'Pilot Protocol Daemon',
    `  Node ID:     ${i.node_id}`,
    `  Address:     ${i.address}`,
    ...(i.hostname ? [`  Hostname:    ${i.hostname}`] : []),
    `  Uptime:      ${formatUptime(i.uptime_secs)}`,
    `  Connections: ${i.connections}`,
    `  Ports:       ${i.ports}`,
    `  Peers:       ${i.peers}`,
    ...(i.registry !== undefined ? [`  Registry:    ${i.registry} (${i.registry_failovers ?? 0} failovers)`, `  Beacon:      ${i.beacon ?? ''} (${i.beacon_failovers ?? 0} failovers)`] : []),
    i.encrypt
      ? `  Encryption:  enabled (X25519 + AES-256-GCM), ${i.encrypted_peers}/${i.peers} peers encrypted, ${i.authenticated_peers} authenticated`
      : '  Encryption:  disabled',
    i.identity ? `  Identity:    persistent (Ed25519 ${i.public_key.slice(0, 16)}...)` : '  Identity:    ephemeral (not persisted)',
    ...(i.owner ? [`  Owner:       ${i.owner}`] : []),
    `  Traffic:     ${formatBytes(i.bytes_sent)} sent / ${formatBytes(i.bytes_recv)} recv`,
    `  Packets:     ${i.pkts_sent} sent / ${i.pkts_recv} recv`,
  ];
  if (i.conn_list.length > 0) {
    lines.push('', `Active connections: ${i.conn_list.length}`);
    lines.push(`  ${pad('ID', 4)}  ${pad('LOCAL', 6)}  ${pad('REMOTE ADDR', 22)}  ${pad('RPORT', 6)}  ${pad('STATE', 11)}  ${pad('CWND', 8)}  ${pad('FLIGHT', 8)}  SRTT`);
    for (const c of i.conn_list.slice(0, 50)) {
      lines.push(
        `  ${pad(c.id, 4)}  ${pad(c.local_port, 6)}  ${pad(c.remote_addr, 22)}  ${pad(c.remote_port, 6)}  ${pad(c.state, 11)}  ${pad(formatBytes(c.cong_win), 8)}  ${pad(formatBytes(c.in_flight), 8)}  ${c.srtt_ms.toFixed(0)}ms${c.in_recovery ? ' [RECOVERY]' : ''}`,
      );
    }
    if (i.conn_list.length > 50) lines.push(`\n  ... and ${i.conn_list.length - 50} more connections (showing first 50)`);
  }
  return lines.join('\n');
}

export async function info(ctx: CommandContext): Promise<CommandResult> {
  const i = await withDaemon(ctx, (c) => c.info());
  return { data: i, text: infoText(i) };
}

function foundTable(nodes: FoundNodeView[]): string {
  if (nodes.length === 0) return 'no nodes found';
  const lines = [`${pad('NODE ID', 10)}  ${pad('ADDRESS', 18)}  ${pad('HOSTNAME', 24)}  ${pad('TAGS', 30)}  ONLINE`];
  for (const n of nodes) {
    lines.push(`${pad(n.nodeId, 10)}  ${pad(n.address, 18)}  ${pad(n.hostname ?? '-', 24)}  ${pad(n.tags.map((t) => `#${t}`).join(' ') || '-', 30)}  ${n.online ? 'yes' : 'no'}`);
  }
  lines.push('', `total: ${nodes.length}`);
  return lines.join('\n');
}

export async function find(ctx: CommandContext): Promise<CommandResult> {
  const tag = str(ctx, 'tag');
  const group = str(ctx, 'group');
  if (tag !== undefined || group !== undefined) {
    const tags = (tag ?? '').split(',').map((t) => t.trim()).filter(Boolean);
    const nodes = await withDaemon(ctx, (c) => c.call('find.nodes', { ...(tags.length ? { tags } : {}), ...(group ? { group } : {}) }));
    return { data: { nodes, total: nodes.length }, text: foundTable(nodes) };
  }
  const h = arg(ctx, 0, 'hostname', 'find <hostname> | find --tag T [--group G]');
  return withDaemon(ctx, async (c) => {
    let r: Record<string, unknown>;
    try {
      r = await c.requestJson({ cmd: 'resolve_hostname', hostname: h }, 'resolve_hostname_ok');
    } catch (e) {
      const pe = toPilotError(e);
      if (pe.code === 'not_running' || registryUnreachable(pe)) throw pe;
      throw new PilotError('not_found', `cannot find "${h}" — hostname not found or no mutual trust`, `establish trust first: pilotctl handshake ${h} "reason"`);
    }
    const data = { hostname: r['hostname'], node_id: r['node_id'], address: r['address'], public: r['public'] };
    return {
      data,
      text: [`Hostname:  ${String(data.hostname)}`, `Node ID:   ${String(data.node_id)}`, `Address:   ${String(data.address)}`, `Visible:   ${data.public ? 'public' : 'private'}`].join('\n'),
    };
  });
}

export async function lookup(ctx: CommandContext): Promise<CommandResult> {
  const id = parseNodeId(arg(ctx, 0, 'node_id', 'lookup <node_id>'));
  const address = resolveRegistry(ctx.env);
  // Loaded here, not at the top: the registry client brings the wire schemas (zod) and the crypto,
  // which the other discovery commands (info above all) do not need at start-up.
  const { RegistryClient } = await import('../../node/registry-client');
  const rc = new RegistryClient({ address, reconnectAttempts: 1, connectTimeoutMs: 3000, timeoutMs: 5000 });
  try {
    return { data: await rc.lookup(id) };
  } catch (e) {
    const pe = toPilotError(e);
    if (pe.code === 'not_found') throw new PilotError('not_found', `node ${id} not found`, 'find nodes with: pilotctl find --tag <tag>');
    if (pe.code === 'connection_failed' || pe.code === 'timeout') {
      throw new PilotError('connection_failed', `cannot reach registry at ${address}`, `check that the registry is running at ${address}, or set PILOT_REGISTRY`);
    }
    throw pe;
  } finally {
    rc.close();
  }
}

function setConfigKey(ctx: CommandContext, key: string, value: string | undefined): void {
  const paths = pilotPaths(ctx.env);
  try {
    const cfg = readConfig(paths);
    if (value === undefined || value === '') delete cfg[key];
    else cfg[key] = value;
    writeConfig(paths, cfg);
  } catch {
    // the daemon already has it; a config write failure is not fatal
  }
}

export async function setHostname(ctx: CommandContext): Promise<CommandResult> {
  const h = arg(ctx, 0, 'hostname', 'set-hostname <hostname>');
  const r = await withDaemon(ctx, (c) => c.requestJson({ cmd: 'set_hostname', hostname: h }, 'set_hostname_ok'));
  setConfigKey(ctx, 'hostname', h);
  return { data: { hostname: r['hostname'], node_id: r['node_id'] }, text: h ? `hostname set: ${h}` : 'hostname cleared' };
}

export async function clearHostname(ctx: CommandContext): Promise<CommandResult> {
  await withDaemon(ctx, (c) => c.requestJson({ cmd: 'set_hostname', hostname: '' }, 'set_hostname_ok'));
  setConfigKey(ctx, 'hostname', undefined);
  return { data: { hostname: '' }, text: 'hostname cleared' };
}

function visibility(pub: boolean) {
  return async (ctx: CommandContext): Promise<CommandResult> => {
    const r = await withDaemon(ctx, (c) => c.requestJson({ cmd: 'set_visibility', public: pub }, 'set_visibility_ok'));
    return { data: r, text: `visibility: ${String(r['visibility'] ?? (pub ? 'public' : 'private'))}` };
  };
}
export const setPublic = visibility(true);
export const setPrivate = visibility(false);

export async function setTags(ctx: CommandContext): Promise<CommandResult> {
  const tags = ctx.args;
  if (tags.length > 3) throw new PilotError('invalid_argument', `set-tags: maximum 3 tags allowed, got ${tags.length}`, 'usage: pilotctl set-tags <t1> [t2] [t3]');
  if (tags.length === 0) throw new PilotError('invalid_argument', 'set-tags: give 1 to 3 tags', 'usage: pilotctl set-tags <t1> [t2] [t3] (or pilotctl clear-tags)');
  const r = await withDaemon(ctx, (c) => c.requestJson({ cmd: 'set_tags', tags }, 'set_tags_ok'));
  const got = Array.isArray(r['tags']) ? (r['tags'] as string[]) : [];
  return { data: { node_id: r['node_id'], tags: got }, text: `tags set: ${got.length ? got.map((t) => `#${t}`).join(' ') : 'none'}` };
}

export async function clearTags(ctx: CommandContext): Promise<CommandResult> {
  await withDaemon(ctx, (c) => c.requestJson({ cmd: 'set_tags', tags: [] }, 'set_tags_ok'));
  return { data: { tags: [] }, text: 'tags cleared' };
}

export async function peers(ctx: CommandContext): Promise<CommandResult> {
  const q = str(ctx, 'search')?.toLowerCase();
  const all = await withDaemon(ctx, (c) => c.call('peers.list', {}));
  const match = (p: PeerView): boolean =>
    !q || String(p.nodeId).includes(q) || (p.hostname ?? '').toLowerCase().includes(q) || (p.endpoint ?? '').toLowerCase().includes(q) || p.address.toLowerCase().includes(q) || p.tags.some((t) => t.toLowerCase().includes(q));
  const list = all.filter(match);
  let text: string;
  if (list.length === 0) text = q ? `no peers matching "${q}"` : 'no peers connected\n  peers appear when you communicate with other nodes';
  else {
    const lines = [`${pad('NODE ID', 10)}  ${pad('HOSTNAME', 20)}  ${pad('ENDPOINT', 22)}  ${pad('PATH', 8)}  ${pad('RTT', 9)}  ${pad('ENCRYPTED', 18)}  AUTH`];
    for (const p of list.slice(0, 50)) {
      lines.push(
        `${pad(p.nodeId, 10)}  ${pad(p.hostname ?? '-', 20)}  ${pad(p.endpoint ?? '-', 22)}  ${pad(p.path, 8)}  ${pad(p.rttMs !== undefined ? fmtMs(p.rttMs) : '-', 9)}  ${pad(p.encrypted ? 'yes (AES-256-GCM)' : 'no', 18)}  ${p.authenticated ? 'yes (Ed25519)' : 'no'}`,
      );
    }
    if (list.length > 50) lines.push(`\n... and ${list.length - 50} more peers (showing first 50)`);
    text = lines.join('\n');
  }
  return { data: { peers: list, total: list.length }, text };
}

export async function deregister(ctx: CommandContext): Promise<CommandResult> {
  const r = await withDaemon(ctx, (c) => c.requestJson({ cmd: 'deregister' }, 'deregister_ok'));
  return {
    data: r,
    text: 'deregistered from the registry\n  the running daemon registers again at its next heartbeat; to stay off: pilotctl daemon stop',
  };
}

function taskExec(enabled: boolean) {
  return async (ctx: CommandContext): Promise<CommandResult> => {
    const r = await withDaemon(ctx, (c) => c.requestJson({ cmd: 'set_task_exec', enabled }, 'set_task_exec_ok'));
    const on = r['task_exec'] === true;
    return { data: r, text: on ? 'task execution enabled: the registry lists this node as accepting tasks' : 'task execution disabled' };
  };
}
export const enableTasks = taskExec(true);
export const disableTasks = taskExec(false);

/**
 * Applies a webhook URL to the running daemon; false when no daemon answers on the socket (the URL
 * is then used at the next `daemon start`, which reads config.json).
 */
async function applyWebhook(ctx: CommandContext, url: string): Promise<boolean> {
  let c: IpcClient;
  try {
    c = await IpcClient.connect(socketOf(ctx), 3000);
  } catch (e) {
    const pe = toPilotError(e);
    if (pe.code === 'not_running' || pe.code === 'timeout' || pe.code === 'connection_failed') return false;
    throw pe;
  }
  try {
    await c.requestJson({ cmd: 'set_webhook', url }, 'set_webhook_ok');
    return true;
  } finally {
    c.close();
  }
}

/** Stores (or with undefined removes) `webhook` in config.json; a write failure is an error here. */
function saveWebhook(ctx: CommandContext, url: string | undefined): void {
  const paths = pilotPaths(ctx.env);
  const cfg = readConfig(paths);
  if (url === undefined) delete cfg['webhook'];
  else cfg['webhook'] = url;
  try {
    writeConfig(paths, cfg);
  } catch (e) {
    throw new PilotError('internal', `cannot write ${paths.config}: ${(e as Error).message}`, `check the permissions of ${paths.home}`);
  }
}

const appliedLine = (applied: boolean): string => (applied ? 'applied to running daemon' : 'will take effect on next daemon start');

export async function setWebhook(ctx: CommandContext): Promise<CommandResult> {
  const usage = 'set-webhook <url>';
  const url = arg(ctx, 0, 'url', usage);
  if (ctx.args.length > 1) throw new PilotError('invalid_argument', `set-webhook takes one <url>, got ${ctx.args.length} arguments`, `usage: pilotctl ${usage}`);
  const { validateWebhookUrl } = await import('../../daemon/webhook'); // the webhook pump: not needed by the other commands
  validateWebhookUrl(url);
  saveWebhook(ctx, url);
  const applied = await applyWebhook(ctx, url);
  return { data: { webhook: url, applied }, text: `webhook set: ${url}\n${appliedLine(applied)}` };
}

export async function clearWebhook(ctx: CommandContext): Promise<CommandResult> {
  if (ctx.args.length > 0) throw new PilotError('invalid_argument', 'clear-webhook takes no arguments', 'usage: pilotctl clear-webhook');
  saveWebhook(ctx, undefined);
  const applied = await applyWebhook(ctx, '');
  return { data: { webhook: '', applied }, text: `webhook cleared\n${appliedLine(applied)}` };
}
