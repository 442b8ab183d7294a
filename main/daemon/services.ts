/**
 * The built-in port services a daemon runs next to the node (main/node/services: trust 444, echo 7,
 * data exchange 1001, event stream 1002, task submit 1003), with their state under the data dir.
 * `adapter` is what the console contract's trust/task methods use.
 */
import type { Logger } from '../util/log';
import type { PilotNode } from '../node/node';
import { startServices, type Services } from '../node/services';
import { adaptServices, type ServicesAdapter } from '../api/services-adapter';

export interface BuiltinServices {
  services: Services;
  adapter?: ServicesAdapter;
  stop(): Promise<void>;
}

export async function startBuiltinServices(node: PilotNode, opts: { dataDir: string; log: Logger }): Promise<BuiltinServices> {
  const services = await startServices(node, { dataDir: opts.dataDir });
  opts.log.debug('built-in services up', { ports: services.ports });
  return {
    services,
    adapter: adaptServices(node, services),
    stop: () => services.stop(),
  };
}
