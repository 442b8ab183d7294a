import type { LogLine } from '../../../../shared/contract';
import { dispatch } from '../root';

export const logsLoaded = (lines: LogLine[]): void => dispatch({ type: 'logsLoaded', lines });
export const logAppended = (line: LogLine): void => dispatch({ type: 'logAppended', line });
export const logsAppended = (lines: LogLine[]): void => dispatch({ type: 'logsAppended', lines });
