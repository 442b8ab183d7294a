/** init and config (cli.md §4.1). */
import { PilotError } from '../../../shared/errors';
import { DEFAULT_BEACON, DEFAULT_REGISTRY, DEFAULT_SOCKET, pilotPaths, readConfig, writeConfig } from '../../daemon/paths';
import type { CommandContext, CommandResult } from '../command';
import { str } from './util';

export async function init(ctx: CommandContext): Promise<CommandResult> {
  const paths = pilotPaths(ctx.env);
  const cfg = readConfig(paths);
  cfg['registry'] = str(ctx, 'registry') ?? cfg['registry'] ?? DEFAULT_REGISTRY;
  cfg['beacon'] = str(ctx, 'beacon') ?? cfg['beacon'] ?? DEFAULT_BEACON;
  cfg['socket'] = str(ctx, 'socket') ?? cfg['socket'] ?? DEFAULT_SOCKET;
  const h = str(ctx, 'hostname');
  if (h !== undefined) cfg['hostname'] = h;
  writeConfig(paths, cfg);
  const data = { config_path: paths.config, registry: cfg['registry'], beacon: cfg['beacon'], socket: cfg['socket'], hostname: cfg['hostname'] ?? '' };
  return { data, text: `wrote ${paths.config}\n  registry: ${String(data.registry)}\n  beacon:   ${String(data.beacon)}\n  socket:   ${String(data.socket)}${data.hostname ? `\n  hostname: ${String(data.hostname)}` : ''}` };
}

export async function config(ctx: CommandContext): Promise<CommandResult> {
  const paths = pilotPaths(ctx.env);
  const cfg = readConfig(paths);
  const set = str(ctx, 'set');
  if (set !== undefined) {
    const i = set.indexOf('=');
    if (i <= 0) throw new PilotError('invalid_argument', `--set expects key=value, got "${set}"`, 'e.g. pilotctl config --set registry=10.0.0.5:9000');
    const key = set.slice(0, i);
    const value = set.slice(i + 1);
    cfg[key] = value;
    writeConfig(paths, cfg);
    return { data: { key, value }, text: `${key} = ${value}` };
  }
  return {
    data: {
      registry: DEFAULT_REGISTRY,
      socket: DEFAULT_SOCKET,
      ...cfg,
      config_path: paths.config,
      pid_file: paths.pid,
      log_file: paths.log,
    },
  };
}
