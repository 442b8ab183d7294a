import type { ErrorCode } from '../../shared/errors';

export interface OptionSpec {
  type: 'string' | 'boolean';
  description: string;
  short?: string;
  default?: string;
}

export interface CommandContext {
  /** Positional arguments after the command word(s). */
  args: string[];
  /** Parsed flags (strings or booleans). */
  flags: Record<string, string | boolean | undefined>;
  json: boolean;
  env: NodeJS.ProcessEnv;
  out(text: string): void;
  err(text: string): void;
  /** For long-running commands: resolves when the user interrupts (SIGINT/SIGTERM). */
  interrupted: Promise<void>;
}

export interface CommandResult {
  data: unknown;
  /** Text-mode rendering; when absent, data prints as indented JSON with sorted keys. */
  text?: string;
  /** Exit status (default 0). */
  exit?: number;
  /** The command printed its own output already (streaming commands). */
  printed?: boolean;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  returns?: string;
  options?: Record<string, OptionSpec>;
  /** Undefined: listed but not built yet (the CLI says so). */
  run?: (ctx: CommandContext) => Promise<CommandResult>;
  /** Not listed by --help or context (internal entry points). */
  hidden?: boolean;
  group: 'daemon' | 'backbone' | 'discovery' | 'communication' | 'trust' | 'groups' | 'tasks' | 'diagnostics' | 'console' | 'config';
}

export const ERROR_CODE_HELP: Partial<Record<ErrorCode, string>> = {
  invalid_argument: 'a bad flag, argument or value',
  not_found: 'hostname, node, task or file not found',
  already_exists: 'daemon already running, name taken',
  not_running: 'the daemon is not running',
  connection_failed: 'registry, beacon or peer unreachable',
  timeout: 'the operation did not finish in time',
  internal: 'unexpected failure',
  invalid_state: 'the object is in the wrong state for this',
  unavailable: 'not available here',
  permission_denied: 'trust or token required',
};
