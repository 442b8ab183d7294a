/**
 * Run-time names derived from the console contract (shared/contract.ts), with no zod: what the
 * renderer and the preload need at run time (the event names) without bundling
 * the schemas. contract.ts re-exports all of it.
 */
import type { EventName } from './contract';

/** Every event name at run time; the type below fails to compile when ConsoleEvents gains one not listed. */
export const EVENT_NAMES = [
  'peer.updated',
  'peer.pathChanged',
  'ping.reply',
  'groups.changed',
  'trust.requested',
  'trust.changed',
  'span.ended',
  'log',
  'node.updated',
  'task.updated',
  'demo.changed',
] as const satisfies readonly EventName[];
export type EventNamesComplete = Exclude<EventName, (typeof EVENT_NAMES)[number]> extends never ? true : never;
export const EVENT_NAMES_COMPLETE: EventNamesComplete = true;

const KNOWN_EVENTS: ReadonlySet<string> = new Set(EVENT_NAMES);

export function isEventName(s: unknown): s is EventName {
  return typeof s === 'string' && KNOWN_EVENTS.has(s);
}
