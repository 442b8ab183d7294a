/**
 * Run-time names derived from the console contract (shared/contract.ts), with no zod: what the
 * renderer and the preload need at run time (event names, preload member names) without bundling
 * the schemas. contract.ts re-exports all of it.
 */
import type { EventHandlerName, EventName, MethodDomain, MethodName } from './contract';

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
] as const satisfies readonly EventName[];
export type EventNamesComplete = Exclude<EventName, (typeof EVENT_NAMES)[number]> extends never ? true : never;
export const EVENT_NAMES_COMPLETE: EventNamesComplete = true;

export function splitMethod(method: MethodName): { domain: MethodDomain; name: string } {
  const dot = method.indexOf('.');
  return { domain: method.slice(0, dot) as MethodDomain, name: method.slice(dot + 1) };
}

export function eventHandlerName<E extends EventName>(event: E): EventHandlerName<E> {
  const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
  return ('on' + event.split('.').map(cap).join('')) as EventHandlerName<E>;
}
