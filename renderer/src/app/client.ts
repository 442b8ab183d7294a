/** The page's one console client (set once at start-up by main.tsx; tests set their own). */
import { ConsoleCallError } from '../api/errors';
import type { ConsoleTransport } from '../api/types';

let current: ConsoleTransport | undefined;

export function setClient(c: ConsoleTransport | undefined): void {
  current = c;
}

export function getClient(): ConsoleTransport {
  if (!current) throw new ConsoleCallError({ code: 'unavailable', message: 'no console connection (open the URL pilotctl console printed, with its token)' });
  return current;
}
