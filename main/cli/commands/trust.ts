/** Trust: handshake, approve, reject, untrust, pending, trust (cli.md §4.6; IPC Handshake §2.2). */
import { handshakeBody, HANDSHAKE_SUB } from '../../wire/ipc';
import type { CommandContext, CommandResult } from '../command';
import { arg, localTime, pad, parseNodeId, resolveTarget, withDaemon } from './util';

export async function handshake(ctx: CommandContext): Promise<CommandResult> {
  const x = arg(ctx, 0, 'node_id|address|hostname', 'handshake <node_id|address|hostname> [justification]');
  const justification = ctx.args.slice(1).join(' ');
  return withDaemon(ctx, async (c) => {
    const t = await resolveTarget(ctx, c, x);
    const r = await c.requestJson({ cmd: 'handshake', sub: HANDSHAKE_SUB.SEND, body: handshakeBody(t.nodeId, justification) }, 'handshake_ok');
    const id = Number(r['node_id'] ?? t.nodeId);
    const status = String(r['status'] ?? 'sent');
    const text =
      status === 'approved' || status === 'trusted'
        ? `already trusted with node ${id} — ready to communicate`
        : `handshake request sent to node ${id}\n  next: node ${id} must approve — or send a handshake back for auto-approval\n  check: pilotctl trust`;
    return { data: { node_id: id, status }, text };
  });
}

export async function approve(ctx: CommandContext): Promise<CommandResult> {
  const id = parseNodeId(arg(ctx, 0, 'node_id', 'approve <node_id>'));
  const r = await withDaemon(ctx, (c) => c.requestJson({ cmd: 'handshake', sub: HANDSHAKE_SUB.APPROVE, body: handshakeBody(id) }, 'handshake_ok'));
  return { data: r, text: `trust established with node ${id}\n  try: pilotctl ping ${id}` };
}

export async function reject(ctx: CommandContext): Promise<CommandResult> {
  const id = parseNodeId(arg(ctx, 0, 'node_id', 'reject <node_id> [reason]'));
  const r = await withDaemon(ctx, (c) => c.requestJson({ cmd: 'handshake', sub: HANDSHAKE_SUB.REJECT, body: handshakeBody(id, ctx.args.slice(1).join(' ')) }, 'handshake_ok'));
  return { data: r, text: `handshake from node ${id} rejected` };
}

export async function untrust(ctx: CommandContext): Promise<CommandResult> {
  const id = parseNodeId(arg(ctx, 0, 'node_id', 'untrust <node_id>'));
  await withDaemon(ctx, (c) => c.requestJson({ cmd: 'handshake', sub: HANDSHAKE_SUB.REVOKE, body: handshakeBody(id) }, 'handshake_ok'));
  return { data: { node_id: id }, text: `trust revoked for node ${id}` };
}

interface PendingEntry {
  justification: string;
  node_id: number;
  public_key: string;
  received_at: number;
}
interface TrustedEntry {
  approved_at: number;
  mutual: boolean;
  network: number;
  node_id: number;
  public_key: string;
}

export async function pending(ctx: CommandContext): Promise<CommandResult> {
  const r = await withDaemon(ctx, (c) => c.requestJson({ cmd: 'handshake', sub: HANDSHAKE_SUB.PENDING, body: new Uint8Array(0) }, 'handshake_ok'));
  const list = (r['pending'] ?? []) as PendingEntry[];
  const text = list.length
    ? [`${pad('NODE ID', 10)}  ${pad('JUSTIFICATION', 40)}  RECEIVED`, ...list.map((p) => `${pad(p.node_id, 10)}  ${pad(p.justification, 40)}  ${localTime(p.received_at * 1000)}`)].join('\n')
    : 'no pending handshake requests\n  requests appear here when another node sends: pilotctl handshake <your-node-id>';
  return { data: { pending: list }, text };
}

export async function trust(ctx: CommandContext): Promise<CommandResult> {
  const r = await withDaemon(ctx, (c) => c.requestJson({ cmd: 'handshake', sub: HANDSHAKE_SUB.TRUSTED, body: new Uint8Array(0) }, 'handshake_ok'));
  const list = (r['trusted'] ?? []) as TrustedEntry[];
  const text = list.length
    ? [
        `${pad('NODE ID', 10)}  ${pad('MUTUAL', 10)}  ${pad('NETWORK', 10)}  APPROVED AT`,
        ...list.map((t) => `${pad(t.node_id, 10)}  ${pad(t.mutual ? 'yes' : 'no', 10)}  ${pad(t.network ? t.network : '-', 10)}  ${localTime(t.approved_at * 1000)}`),
      ].join('\n')
    : 'no trusted peers\n  establish trust: pilotctl handshake <node_id|hostname> "reason"';
  return { data: { trusted: list }, text };
}
