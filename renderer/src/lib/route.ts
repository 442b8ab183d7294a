/** Hash routes (the page URL keeps `?token=…` in its search part untouched). */
export type Route =
  | { view: 'fleet' }
  | { view: 'node' }
  | { view: 'peer'; nodeId: number }
  | { view: 'groups'; group?: string }
  | { view: 'tasks' }
  | { view: 'traces'; traceId?: string }
  | { view: 'logs'; peer?: number };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [head, arg] = parts;
  switch (head) {
    case 'node':
      return { view: 'node' };
    case 'peer': {
      const id = Number(arg);
      return Number.isInteger(id) && id > 0 ? { view: 'peer', nodeId: id } : { view: 'fleet' };
    }
    case 'groups':
      return arg ? { view: 'groups', group: arg } : { view: 'groups' };
    case 'tasks':
      return { view: 'tasks' };
    case 'traces':
      return arg ? { view: 'traces', traceId: arg } : { view: 'traces' };
    case 'logs': {
      const id = Number(arg);
      return Number.isInteger(id) && id > 0 ? { view: 'logs', peer: id } : { view: 'logs' };
    }
    default:
      return { view: 'fleet' };
  }
}

export function hrefOf(r: Route): string {
  switch (r.view) {
    case 'fleet':
      return '#/fleet';
    case 'node':
      return '#/node';
    case 'peer':
      return `#/peer/${r.nodeId}`;
    case 'groups':
      return r.group ? `#/groups/${encodeURIComponent(r.group)}` : '#/groups';
    case 'tasks':
      return '#/tasks';
    case 'traces':
      return r.traceId ? `#/traces/${encodeURIComponent(r.traceId)}` : '#/traces';
    case 'logs':
      return r.peer ? `#/logs/${r.peer}` : '#/logs';
  }
}
