/** `pilotctl metrics [--json] [--peers N]`: the daemon's own metrics (main/observe/metrics.ts). */
import { PilotError } from '../../../shared/errors';
import { IPC_DEFAULT_PEERS, METRICS_METHOD, type MetricsReply } from '../../observe/metrics-ipc';
import type { CommandContext, CommandResult } from '../command';
import { str, withDaemon } from './util';

export async function metrics(ctx: CommandContext): Promise<CommandResult> {
  const p = str(ctx, 'peers');
  if (p !== undefined && !/^\d+$/.test(p)) throw new PilotError('invalid_argument', `invalid --peers "${p}"`, 'a whole number, e.g. --peers 100');
  const peers = p === undefined ? IPC_DEFAULT_PEERS : Number(p);
  const r = (await withDaemon(ctx, (c) => c.callExt(METRICS_METHOD, { format: ctx.json ? 'json' : 'text', peers }))) as MetricsReply;
  if (r.format === 'json') {
    const { format: _format, ...data } = r;
    return { data };
  }
  return { data: { text: r.text, ...(r.endpoint ? { endpoint: r.endpoint } : {}) }, text: r.text.trimEnd() };
}
