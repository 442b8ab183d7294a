import type { CommandContext, CommandResult } from '../command';
import { contextCommand } from './context';

export type CommandImpl = (ctx: CommandContext) => Promise<CommandResult>;

/** Command name → implementation. Commands absent here are listed by --help as "not built yet". */
export const IMPLEMENTATIONS: Record<string, CommandImpl | undefined> = {
  context: contextCommand,
};
