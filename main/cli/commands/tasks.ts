/** Tasks through the console contract: submit and list (cli.md §4.5). */
import { PilotError } from '../../../shared/errors';
import type { CommandContext, CommandResult } from '../command';
import { str, traceparentOf, withDaemon } from './util';

export async function taskSubmit(ctx: CommandContext): Promise<CommandResult> {
  const usage = 'task submit <address|hostname> --task "description" [--tag T]';
  const description = str(ctx, 'task');
  if (!description) throw new PilotError('invalid_argument', '--task is required', `usage: pilotctl ${usage}`);
  const tag = str(ctx, 'tag');
  const target = ctx.args[0];
  if (!target && !tag) throw new PilotError('invalid_argument', 'missing <address|hostname> (or --tag T)', `usage: pilotctl ${usage}`);
  const r = await withDaemon(ctx, (c) => c.call('tasks.submit', { description, ...(target ? { target } : {}), ...(tag ? { tag } : {}), ...traceparentOf(ctx) }));
  const data = {
    target: r.target,
    task_id: r.taskId,
    task: description,
    status: r.status,
    message: r.message,
    accepted: r.accepted,
    ...(r.chosenBy ? { chosen_by: r.chosenBy } : {}),
    ...(r.traceId ? { trace_id: r.traceId } : {}),
    ...(r.traceparent ? { traceparent: r.traceparent } : {}),
  };
  return { data, text: r.accepted ? `task ${r.taskId} accepted by ${r.address}: ${r.message}` : `task declined by ${r.address} (${r.status}): ${r.message}` };
}

export async function taskList(ctx: CommandContext): Promise<CommandResult> {
  const type = str(ctx, 'type');
  if (type !== undefined && type !== 'received' && type !== 'submitted') throw new PilotError('invalid_argument', `invalid --type "${type}"`, 'received|submitted');
  const tasks = await withDaemon(ctx, (c) => c.call('tasks.list', type ? { category: type } : {}));
  const data = {
    tasks: tasks.map((t) => ({
      task_id: t.taskId,
      description: t.description,
      status: t.status,
      from: t.from,
      to: t.to,
      created_at: t.createdAt,
      category: t.category,
      ...(t.traceId ? { trace_id: t.traceId } : {}),
      ...(t.traceparent ? { traceparent: t.traceparent } : {}),
    })),
  };
  const text = tasks.length ? tasks.map((t) => `[${t.category}] ${t.taskId} (${t.status}) - ${t.description}\n  From: ${t.from} → To: ${t.to}`).join('\n') : 'No tasks found';
  return { data, text };
}

export async function taskQueue(ctx: CommandContext): Promise<CommandResult> {
  const q = await withDaemon(ctx, (c) => c.call('tasks.queue', {}));
  const data = { queue: q.map((t) => ({ task_id: t.taskId, description: t.description, from: t.from, created_at: t.createdAt })), count: q.length };
  const text = q.length ? [`Queued tasks (${q.length}):`, ...q.map((t, i) => `  ${i + 1}. ${t.taskId}: ${t.description}\n     From: ${t.from}`)].join('\n') : 'Queue is empty';
  return { data, text };
}

function taskId(ctx: CommandContext, usage: string): string {
  const id = str(ctx, 'id');
  if (!id) throw new PilotError('invalid_argument', '--id is required', `usage: pilotctl ${usage}`);
  return id;
}

export async function taskAccept(ctx: CommandContext): Promise<CommandResult> {
  const id = taskId(ctx, 'task accept --id ID');
  const r = await withDaemon(ctx, (c) => c.call('tasks.accept', { taskId: id }));
  return { data: { task_id: r.taskId, status: r.status, message: r.message }, text: `task ${r.taskId} accepted\n  next: pilotctl task execute` };
}

export async function taskDecline(ctx: CommandContext): Promise<CommandResult> {
  const usage = 'task decline --id ID --justification J';
  const id = taskId(ctx, usage);
  const justification = str(ctx, 'justification');
  if (!justification) throw new PilotError('invalid_argument', '--justification is required', `usage: pilotctl ${usage}`);
  const r = await withDaemon(ctx, (c) => c.call('tasks.decline', { taskId: id, justification }));
  return { data: { task_id: r.taskId, status: r.status, justification, message: r.message }, text: `task ${r.taskId} declined` };
}

export async function taskExecute(ctx: CommandContext): Promise<CommandResult> {
  const r = await withDaemon(ctx, (c) => c.call('tasks.execute', {}));
  return { data: { task_id: r.taskId, task_description: r.description, status: r.status, from: r.from }, text: `executing ${r.taskId}: ${r.description}\n  from: ${r.from}\n  when done: pilotctl task send-results --id ${r.taskId} --results "…"` };
}

/** The reference's list of result-file extensions (cli.md §4.5). */
const RESULT_EXTENSIONS = new Set(['.md', '.txt', '.rtf', '.docx', '.pdf', '.pptx', '.pth', '.pt', '.onnx', '.h5', '.pb', '.ckpt', '.safetensors', '.bin', '.csv', '.parquet', '.xlsx', '.xls', '.jpg', '.jpeg', '.png', '.svg', '.gif', '.webp']);

export async function taskSendResults(ctx: CommandContext): Promise<CommandResult> {
  const usage = 'task send-results --id ID (--results TEXT | --file PATH)';
  const id = taskId(ctx, usage);
  const results = str(ctx, 'results');
  const file = str(ctx, 'file');
  if ((results === undefined) === (file === undefined)) throw new PilotError('invalid_argument', 'give exactly one of --results or --file', `usage: pilotctl ${usage}`);
  let params: { taskId: string; text?: string; filename?: string; dataBase64?: string } = { taskId: id };
  if (results !== undefined) params = { taskId: id, text: results };
  else {
    const { readFile } = await import('node:fs/promises');
    const { basename, extname } = await import('node:path');
    const ext = extname(file!).toLowerCase();
    if (!RESULT_EXTENSIONS.has(ext)) throw new PilotError('invalid_argument', `result files of type "${ext || '(none)'}" are not allowed`, `allowed: ${[...RESULT_EXTENSIONS].join(' ')}`);
    const data = await readFile(file!).catch(() => {
      throw new PilotError('not_found', `cannot read ${file}`, 'check the path');
    });
    params = { taskId: id, filename: basename(file!), dataBase64: data.toString('base64') };
  }
  const r = await withDaemon(ctx, (c) => c.call('tasks.sendResults', { ...params, ...traceparentOf(ctx) }));
  const data: Record<string, unknown> = { task_id: r.taskId, status: r.status, sent_to: r.sentTo, sent_type: r.sentType };
  if (r.filename !== undefined) data['filename'] = r.filename;
  if (r.fileSize !== undefined) data['file_size'] = r.fileSize;
  return { data, text: `results for ${r.taskId} sent to ${r.sentTo} (${r.sentType})` };
}
