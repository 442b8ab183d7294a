/** Groups (ours): create, join, leave, list, members — through the console contract. */
import { PilotError } from '../../../shared/errors';
import type { GroupView } from '../../../shared/contract';
import type { CommandContext, CommandResult } from '../command';
import { arg, pad, parseNodeId, str, withDaemon } from './util';

function groupLine(g: GroupView): string {
  return `group ${g.name} (id ${g.id}, ${g.joinRule}): ${g.members} member(s), ${g.online} online${g.joined ? ', joined' : ''}`;
}

export async function groupCreate(ctx: CommandContext): Promise<CommandResult> {
  const name = arg(ctx, 0, 'name', 'group create <name> [--rule open|token|invite] [--token T]');
  const rule = str(ctx, 'rule');
  if (rule !== undefined && rule !== 'open' && rule !== 'token' && rule !== 'invite') throw new PilotError('invalid_argument', `invalid --rule "${rule}"`, 'one of open|token|invite');
  const token = str(ctx, 'token');
  const g = await withDaemon(ctx, (c) => c.call('groups.create', { name, ...(rule ? { joinRule: rule } : {}), ...(token ? { token } : {}) }));
  return { data: g, text: `created ${groupLine(g)}` };
}

export async function groupJoin(ctx: CommandContext): Promise<CommandResult> {
  const name = arg(ctx, 0, 'name', 'group join <name> [--token T] [--inviter N]');
  const token = str(ctx, 'token');
  const inv = str(ctx, 'inviter');
  const g = await withDaemon(ctx, (c) => c.call('groups.join', { name, ...(token ? { token } : {}), ...(inv ? { inviter: parseNodeId(inv) } : {}) }));
  return { data: g, text: `joined ${groupLine(g)}` };
}

export async function groupLeave(ctx: CommandContext): Promise<CommandResult> {
  const name = arg(ctx, 0, 'name', 'group leave <name>');
  const r = await withDaemon(ctx, (c) => c.call('groups.leave', { name }));
  return { data: r, text: `left group ${name}` };
}

export async function groupList(ctx: CommandContext): Promise<CommandResult> {
  const groups = await withDaemon(ctx, (c) => c.call('groups.list', {}));
  const text = groups.length
    ? [`${pad('NAME', 24)}  ${pad('ID', 6)}  ${pad('RULE', 7)}  ${pad('MEMBERS', 8)}  ${pad('ONLINE', 7)}  JOINED`, ...groups.map((g) => `${pad(g.name, 24)}  ${pad(g.id, 6)}  ${pad(g.joinRule, 7)}  ${pad(g.members, 8)}  ${pad(g.online, 7)}  ${g.joined ? 'yes' : 'no'}`)].join('\n')
    : 'no groups\n  create one with: pilotctl group create <name>';
  return { data: { groups, total: groups.length }, text };
}

export async function groupMembers(ctx: CommandContext): Promise<CommandResult> {
  const name = arg(ctx, 0, 'name', 'group members <name>');
  const members = await withDaemon(ctx, (c) => c.call('groups.members', { name }));
  const text = members.length
    ? [`${pad('NODE ID', 10)}  ${pad('ADDRESS', 18)}  ${pad('HOSTNAME', 24)}  ${pad('TAGS', 24)}  ONLINE`, ...members.map((m) => `${pad(m.nodeId, 10)}  ${pad(m.address, 18)}  ${pad(m.hostname ?? '-', 24)}  ${pad(m.tags.map((t) => `#${t}`).join(' ') || '-', 24)}  ${m.online ? 'yes' : 'no'}`)].join('\n')
    : `group ${name} has no members`;
  return { data: { group: name, members, total: members.length }, text };
}
