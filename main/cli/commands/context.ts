import { CATALOGUE } from '../catalogue';
import { ERROR_CODE_HELP, type CommandContext, type CommandResult } from '../command';

export async function contextCommand(_ctx: CommandContext): Promise<CommandResult> {
  const commands: Record<string, unknown> = {};
  for (const c of CATALOGUE) {
    commands[c.name] = {
      args: c.usage.split(' ').slice(c.name.split(' ').length),
      description: c.summary,
      returns: c.returns ?? '',
    };
  }
  return {
    data: {
      version: '1.2',
      commands,
      error_codes: ERROR_CODE_HELP,
      global_flags: { '--json': 'JSON output envelope {"status":"ok","data":...}' },
      environment: {
        PILOT_SOCKET: 'IPC socket path (default /tmp/pilot.sock)',
        PILOT_REGISTRY: 'registry host:port for direct registry commands',
        PILOT_HOME: 'state directory (default ~/.pilot)',
      },
      config_file: '~/.pilot/config.json',
    },
  };
}
