import { parseArgs } from 'node:util';
import { PilotError, toPilotError } from '../../shared/errors';
import { CATALOGUE, findCommand } from './catalogue';
import type { CommandContext, CommandResult, CommandSpec } from './command';
import { IMPLEMENTATIONS } from './commands';
import { errorEnvelope, goJson, okEnvelope, textError } from './output';
import { isNoExtensions, type NoExtensionsError } from '../daemon/client';

export const VERSION = '0.1.0';

const GROUP_TITLES: Record<CommandSpec['group'], string> = {
  daemon: 'Daemon',
  backbone: 'Backbone (registry + beacon)',
  config: 'Configuration',
  discovery: 'Discovery and identity',
  communication: 'Communication',
  groups: 'Groups',
  tasks: 'Tasks',
  trust: 'Trust',
  diagnostics: 'Diagnostics',
  console: 'Console',
};

export function usage(): string {
  const lines = [
    'pilotctl — drive a Pilot Protocol node',
    '',
    'Usage: pilotctl [--json] <command> [arguments] [flags]',
    '       pilotctl <command> --help',
    '',
  ];
  const groups = [...new Set(CATALOGUE.map((c) => c.group))];
  for (const g of groups) {
    lines.push(`${GROUP_TITLES[g]}:`);
    for (const c of CATALOGUE.filter((x) => x.group === g)) {
      const mark = IMPLEMENTATIONS[c.name] ? '' : '  (not built yet)';
      lines.push(`  ${c.name.padEnd(18)} ${c.summary}${mark}`);
    }
    lines.push('');
  }
  lines.push('Global flags:', '  --json             machine-readable output: {"status":"ok","data":...}; errors on stderr, exit 1', '  --help, -h         this text', '  --version          print the version', '');
  lines.push('Environment: PILOT_SOCKET (IPC socket path), PILOT_REGISTRY (registry host:port), PILOT_HOME (default ~/.pilot)');
  return lines.join('\n') + '\n';
}

export function commandHelp(spec: CommandSpec): string {
  const lines = [`pilotctl ${spec.usage}`, '', `  ${spec.summary}`];
  if (!IMPLEMENTATIONS[spec.name]) lines.push('', '  (not built yet)');
  const opts = Object.entries(spec.options ?? {});
  if (opts.length) {
    lines.push('', 'Flags:');
    for (const [k, o] of opts) lines.push(`  --${k.padEnd(16)} ${o.description}`);
  }
  return lines.join('\n') + '\n';
}

export interface RunIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: NodeJS.ProcessEnv;
  interrupted?: Promise<void>;
  /** Called when the command looks at `ctx.interrupted`: it will stop by itself on Ctrl-C/SIGTERM. */
  watchesInterrupt?: () => void;
}

/** Runs one pilotctl invocation; returns the exit status. */
export async function runCli(argv: string[], io: RunIo): Promise<number> {
  const json = argv.includes('--json');
  const words = argv.filter((a) => a !== '--json');
  const fail = (e: PilotError, status = 1): number => {
    if (json) io.stderr(errorEnvelope(e) + '\n');
    else io.stderr(textError(e));
    return status;
  };

  if (words.length === 0) {
    io.stderr(usage());
    return 2;
  }
  if (words[0] === '--help' || words[0] === '-h' || words[0] === 'help') {
    if (words[1]) {
      const found = findCommand(words.slice(1));
      if (found) {
        io.stdout(commandHelp(found.spec));
        return 0;
      }
    }
    io.stdout(usage());
    return 0;
  }
  if (words[0] === '--version' || words[0] === 'version') {
    if (json) io.stdout(okEnvelope({ version: VERSION }) + '\n');
    else io.stdout(`pilotctl ${VERSION}\n`);
    return 0;
  }

  const found = findCommand(words);
  if (!found) {
    const e = new PilotError('invalid_argument', `unknown command: ${words.slice(0, 2).join(' ')}`, "run 'pilotctl --help' (or 'pilotctl context') for the full command list");
    if (json) return fail(e);
    io.stderr(`unknown command: ${words[0]}\n\n${usage()}`);
    return 2;
  }
  const { spec, consumed } = found;
  const rest = words.slice(consumed);
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(commandHelp(spec));
    return 0;
  }

  let parsed: ReturnType<typeof parseArgs>;
  try {
    const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
    for (const [k, o] of Object.entries(spec.options ?? {})) options[k] = o.short ? { type: o.type, short: o.short } : { type: o.type };
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0]! : String(e);
    return fail(new PilotError('invalid_argument', `${spec.name}: ${msg}`, `usage: pilotctl ${spec.usage}`));
  }

  const impl = IMPLEMENTATIONS[spec.name];
  if (!impl) {
    return fail(new PilotError('unavailable', `pilotctl ${spec.name} is not built yet`, 'pilotctl --help marks the commands this build does not run yet; the README section "What pilotctl does" lists what it does'));
  }
  const interrupted = io.interrupted ?? new Promise<void>(() => undefined);
  const ctx: CommandContext = {
    args: parsed.positionals,
    flags: parsed.values as Record<string, string | boolean | undefined>,
    json,
    env: io.env,
    out: io.stdout,
    err: io.stderr,
    get interrupted() {
      io.watchesInterrupt?.();
      return interrupted;
    },
  };
  let result: CommandResult;
  try {
    result = await impl(ctx);
  } catch (e) {
    return fail(isNoExtensions(e) ? notPilotFleet(spec.name, e) : toPilotError(e));
  }
  if (!result.printed) {
    if (json) io.stdout(okEnvelope(result.data) + '\n');
    else io.stdout(result.text !== undefined ? ensureNewline(result.text) : goJson(result.data, 2) + '\n');
  }
  return result.exit ?? 0;
}

function ensureNewline(s: string): string {
  return s === '' || s.endsWith('\n') ? s : s + '\n';
}

/** A command that needs our IPC extension, run against a daemon without it (a reference daemon). */
function notPilotFleet(command: string, e: NoExtensionsError): PilotError {
  return new PilotError('unavailable', `pilotctl ${command} is not supported by this daemon: it is not a Pilot Fleet daemon (it answers only the reference's IPC commands)`, e.hint);
}
