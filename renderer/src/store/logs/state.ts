import type { LogLine } from '../../../../shared/contract';

export interface LogEntry {
  /** Page-local sequence number: a stable key for rendering. */
  seq: number;
  line: LogLine;
  /** The peer the line is about, when its fields name one. */
  peer?: number;
}

export interface LogsState {
  entries: LogEntry[];
  nextSeq: number;
}

export type LogsAction = { type: 'logsLoaded'; lines: LogLine[] } | { type: 'logAppended'; line: LogLine } | { type: 'logsAppended'; lines: LogLine[] };

export const initialLogsState: LogsState = { entries: [], nextSeq: 1 };
