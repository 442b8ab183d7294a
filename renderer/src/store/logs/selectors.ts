import type { LogLevelName } from '../../../../shared/contract';
import type { RootState } from '../root';
import type { LogEntry } from './state';

export const LEVELS: readonly LogLevelName[] = ['trace', 'debug', 'info', 'warn', 'error'];

export const selectLogEntries = (s: RootState) => s.logs.entries;

export interface LogFilter {
  minLevel: LogLevelName;
  peer?: number;
  text: string;
}

export const defaultLogFilter: LogFilter = { minLevel: 'debug', text: '' };

export function filterLogs(entries: readonly LogEntry[], f: LogFilter): LogEntry[] {
  const min = LEVELS.indexOf(f.minLevel);
  const text = f.text.trim().toLowerCase();
  return entries.filter((e) => {
    if (LEVELS.indexOf(e.line.level) < min) return false;
    if (f.peer !== undefined && e.peer !== f.peer) return false;
    if (text && !(e.line.msg.toLowerCase().includes(text) || JSON.stringify(e.line.fields).toLowerCase().includes(text))) return false;
    return true;
  });
}

export function countByLevel(entries: readonly LogEntry[]): Record<LogLevelName, number> {
  const c: Record<LogLevelName, number> = { trace: 0, debug: 0, info: 0, warn: 0, error: 0 };
  for (const e of entries) c[e.line.level]++;
  return c;
}

/** Peers that appear in the log, for the filter's menu. */
export function peersInLogs(entries: readonly LogEntry[]): number[] {
  return [...new Set(entries.flatMap((e) => (e.peer === undefined ? [] : [e.peer])))].sort((a, b) => a - b);
}
