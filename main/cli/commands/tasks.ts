/** Tasks through the console contract: submit and list (cli.md §4.5). */
import { PilotError } from '../../../shared/errors';
import type { CommandContext, CommandResult } from '../command';
import { str, withDaemon } from './util';

export async function taskSubmit(ctx: CommandContext): Promise<CommandResult> {
  const usage = 'task submit <address|hostname> --task "description" [--tag T]';
  const description = str(ctx, 'task');
  if (!description) throw new PilotError('invalid_argument', '--task is required', `usage: pilotctl ${usage}`);
  const tag = str(ctx, 'tag');
  const target = ctx.args[0];
  if (!target && !tag) throw new PilotError('invalid_argument', 'missing <address|hostname> (or --tag T)', `usage: pilotctl ${usage}`);
  const r = await withDaemon(ctx, (c) => c.call('tasks.submit', { description, ...(target ? { target } : {}), ...(tag ? { tag } : {}) }));
  const data = { target: r.target, task_id: r.taskId, task: description, status: r.status, message: r.message, accepted: r.accepted, ...(r.chosenBy ? { chosen_by: r.chosenBy } : {}) };
  return { data, text: r.accepted ? `task ${r.taskId} accepted by ${r.address}: ${r.message}` : `task declined by ${r.address} (${r.status}): ${r.message}` };
}

export async function taskList(ctx: CommandContext): Promise<CommandResult> {
  const type = str(ctx, 'type');
  if (type !== undefined && type !== 'received' && type !== 'submitted') throw new PilotError('invalid_argument', `invalid --type "${type}"`, 'received|submitted');
  const tasks = await withDaemon(ctx, (c) => c.call('tasks.list', type ? { category: type } : {}));
  const data = { tasks: tasks.map((t) => ({ task_id: t.taskId, description: t.description, status: t.status, from: t.from, to: t.to, created_at: t.createdAt, category: t.category })) };
  const text = tasks.length ? tasks.map((t) => `[${t.category}] ${t.taskId} (${t.status}) - ${t.description}\n  From: ${t.from} → To: ${t.to}`).join('\n') : 'No tasks found';
  return { data, text };
}
