/** Every action any slice reacts to; each slice's reducer ignores the ones it does not handle. */
import type { ConnectionAction } from './connection/state';
import type { FleetAction } from './fleet/state';
import type { GroupsAction } from './groups/state';
import type { LogsAction } from './logs/state';
import type { NetcheckAction } from './netcheck/state';
import type { PeersAction } from './peers/state';
import type { PingsAction } from './pings/state';
import type { TasksAction } from './tasks/state';
import type { TracesAction } from './traces/state';
import type { TrustAction } from './trust/state';

export type RootAction = ConnectionAction | PeersAction | PingsAction | GroupsAction | TracesAction | LogsAction | TrustAction | NetcheckAction | TasksAction | FleetAction;
