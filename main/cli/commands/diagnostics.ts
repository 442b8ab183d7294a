/** Diagnostics: connections, disconnect (cli.md §4.7). */
import { PilotError } from '../../../shared/errors';
import type { CommandContext, CommandResult } from '../command';
import { formatBytes } from '../output';
import { arg, pad, withDaemon } from './util';

export async function connections(ctx: CommandContext): Promise<CommandResult> {
  const i = await withDaemon(ctx, (c) => c.info());
  const list = i.conn_list;
  if (list.length === 0) return { data: { connections: [], total: 0 }, text: 'no active connections\n  connections appear while streams are open (pilotctl connect, send, bench)' };
  const lines = [
    `Active connections: ${list.length}`,
    '',
    [pad('ID', 4), pad('LOCAL', 6), pad('REMOTE ADDR', 22), pad('RPORT', 6), pad('STATE', 11), pad('CWND', 8), pad('FLIGHT', 8), pad('SRTT', 8), pad('UNACK', 6), pad('OOO', 6), pad('PEERWIN', 8), pad('RCVWIN', 8)].join('  '),
  ];
  for (const c of list.slice(0, 50)) {
    lines.push(
      [
        pad(c.id, 4),
        pad(c.local_port, 6),
        pad(c.remote_addr, 22),
        pad(c.remote_port, 6),
        pad(c.state, 11),
        pad(formatBytes(c.cong_win), 8),
        pad(formatBytes(c.in_flight), 8),
        pad(`${c.srtt_ms.toFixed(0)}ms`, 8),
        pad(c.unacked, 6),
        pad(c.ooo_buf, 6),
        pad(formatBytes(c.peer_recv_win), 8),
        pad(formatBytes(c.recv_win), 8),
      ].join('  '),
    );
    lines.push(
      `      tx: ${formatBytes(c.bytes_sent)} (${c.segs_sent} segs)  rx: ${formatBytes(c.bytes_recv)} (${c.segs_recv} segs)  retx: ${c.retransmits}  fast-retx: ${c.fast_retx}  sack: ${c.sack_sent}/${c.sack_recv}  dup-ack: ${c.dup_acks}` +
        (c.lost_segs !== undefined ? `  lost: ${c.lost_segs}  probes: ${c.tlp_probes ?? 0}  rto: ${c.timeouts ?? 0}` : ''),
    );
  }
  return { data: { connections: list, total: list.length }, text: lines.join('\n') };
}

export async function disconnect(ctx: CommandContext): Promise<CommandResult> {
  const t = arg(ctx, 0, 'conn_id', 'disconnect <conn_id>');
  if (!/^\d+$/.test(t) || Number(t) > 0xffffffff) throw new PilotError('invalid_argument', `invalid connection id "${t}"`, 'list them with: pilotctl connections');
  const id = Number(t);
  await withDaemon(ctx, (c) => c.request({ cmd: 'close', connId: id }, 'close_ok'));
  return { data: { conn_id: id }, text: `connection ${id} closed` };
}

export async function netcheck(ctx: CommandContext): Promise<CommandResult> {
  const r = await withDaemon(ctx, (c) => c.call('node.netcheck', {}));
  const lines = [
    'Netcheck',
    `  Tunnel socket:    ${r.tunnelLocal}`,
    `  Beacon:           ${r.beacon}${r.publicEndpoint ? ` sees ${r.publicEndpoint}` : ' (no answer)'}`,
  ];
  if (r.netcheckServer) lines.push(`  Netcheck port:    ${r.netcheckServer}${r.publicEndpointAlt ? ` sees ${r.publicEndpointAlt}` : ' (no answer)'}`);
  lines.push(`  Mapping:          ${r.mapping}`);
  if (r.portPreserved !== undefined) lines.push(`  Port preserved:   ${r.portPreserved ? 'yes' : 'no'}`);
  lines.push(`  NAT type:         ${r.natType}`, `  ${r.hint}`);
  const data = {
    tunnel_local: r.tunnelLocal,
    beacon: r.beacon,
    netcheck_server: r.netcheckServer,
    public_endpoint: r.publicEndpoint,
    public_endpoint_alt: r.publicEndpointAlt,
    port_preserved: r.portPreserved,
    mapping: r.mapping,
    nat_type: r.natType,
    hint: r.hint,
  };
  return { data, text: lines.join('\n') };
}
