/**
 * The gateway process: local IPs of a subnet mapped to Pilot addresses (mapping.ts), each added to
 * the loopback device (addresses.ts) and listened on at the configured TCP ports, every accepted
 * connection bridged to a Pilot stream to the same port (bridge.ts).
 *
 * Crash safety: the state file (state.ts) names every address before it is added; `start` first
 * removes what a previous gateway that died left behind, `stop` removes everything it added.
 * Only one gateway runs per PILOT_HOME (gateway.pid); `map`/`unmap`/`list` from other pilotctl
 * processes reach it over its control socket (control.ts).
 */
import { formatAddress, parseAddress, type Address } from '../../shared/address';
import { PilotError, toPilotError } from '../../shared/errors';
import type { Logger } from '../util/log';
import type { AddressDriver } from './addresses';
import { IpListeners, type BridgeCounters, type StreamDialer } from './bridge';
import { ControlServer } from './control';
import { MappingTable, formatSubnet, type Mapping } from './mapping';
import { gatewayPaths, processAlive, readState, removeFile, writeState, type GatewayPaths, type GatewayState } from './state';
import { writeFileAtomic } from '../util/atomic-file';

/** The ports the reference proxies by default. */
export const DEFAULT_PORTS = [80, 443, 1000, 1001, 1002, 7, 8080, 8443];
export const DEFAULT_SUBNET = '10.4.0.0/16';

export interface GatewayOptions {
  /** PILOT_HOME: gateway.pid, gateway.json and gateway.sock live there. */
  home: string;
  subnet?: string;
  ports?: number[];
  dialer: StreamDialer;
  addresses: AddressDriver;
  log: Logger;
}

/** Removes the addresses a dead gateway recorded; returns them. Refuses while that gateway lives. */
export async function cleanStale(paths: GatewayPaths, addresses: AddressDriver, log: Logger): Promise<string[]> {
  const st = await readState(paths.state);
  if (st && st.pid !== process.pid && processAlive(st.pid)) {
    throw new PilotError('already_exists', `gateway already running (pid ${st.pid})`, 'stop it first with: pilotctl gateway stop');
  }
  const removed: string[] = [];
  for (const ip of st?.addresses ?? []) {
    try {
      if (await addresses.remove(ip)) removed.push(ip);
    } catch (e) {
      log.warn('gateway: cannot remove a stale address', { ip, error: toPilotError(e).message });
      throw e;
    }
  }
  if (removed.length > 0) log.info('gateway removed stale addresses', { addresses: removed });
  await removeFile(paths.state);
  await removeFile(paths.pid);
  return removed;
}

export class Gateway {
  readonly paths: GatewayPaths;
  readonly table: MappingTable;
  readonly ports: number[];
  readonly counters: BridgeCounters = { accepted: 0, dialFailures: 0, active: 0 };
  /** Addresses this gateway added and must remove. */
  private readonly owned = new Set<string>();
  private readonly listeners = new Map<string, IpListeners>();
  private control: ControlServer | undefined;
  private stopped = false;
  /** Mutations run one at a time so the state file follows the table in order. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Addresses found and removed at start (a previous gateway's leftovers). */
  staleRemoved: string[] = [];

  private constructor(private readonly o: GatewayOptions) {
    this.paths = gatewayPaths(o.home);
    this.table = new MappingTable(o.subnet ?? DEFAULT_SUBNET);
    this.ports = o.ports && o.ports.length > 0 ? [...o.ports] : [...DEFAULT_PORTS];
  }

  get subnet(): string {
    return formatSubnet(this.table.subnet);
  }

  static async start(o: GatewayOptions): Promise<Gateway> {
    const g = new Gateway(o);
    g.staleRemoved = await cleanStale(g.paths, o.addresses, o.log);
    await writeFileAtomic(g.paths.pid, `${process.pid}\n`, { mode: 0o644 });
    await g.saveState();
    try {
      g.control = await ControlServer.listen(g.paths.control, {
        map: (addr, ip) => g.map(parseAddress(addr), ip),
        unmap: (ip) => g.unmap(ip),
        list: () => g.list(),
      });
    } catch (e) {
      await g.stop();
      throw e;
    }
    o.log.info('gateway started', { subnet: g.subnet, ports: g.ports });
    return g;
  }

  list(): Mapping[] {
    return this.table.list();
  }

  map(addr: Address, ip?: string): Promise<Mapping> {
    return this.serial(async () => {
      if (this.stopped) throw new PilotError('invalid_state', 'gateway is stopping');
      const pilotAddr = formatAddress(addr);
      const { mapping, created } = this.table.map(pilotAddr, ip);
      if (!created) return mapping;
      const local = mapping.localIp;
      try {
        // Write-ahead: the address is on record before it exists.
        this.owned.add(local);
        await this.saveState();
        if (!(await this.o.addresses.add(local))) {
          this.owned.delete(local);
          this.o.log.warn('gateway: address was already present; it will not be removed on stop', { ip: local });
        }
        const l = await IpListeners.open(local, this.ports, addr, this.o.dialer, this.o.log.child({ ip: local }), this.counters);
        this.listeners.set(local, l);
        if (l.bound.length === 0) throw new PilotError('unavailable', `cannot listen on ${local} at any of the ports ${this.ports.join(',')}`);
        await this.saveState();
      } catch (e) {
        await this.release(local);
        throw e;
      }
      this.o.log.info('gateway mapped address', { local_ip: local, pilot_addr: pilotAddr, ports: this.listeners.get(local)?.bound });
      return mapping;
    });
  }

  unmap(ip: string): Promise<Mapping> {
    return this.serial(async () => {
      const pilotAddr = this.table.lookup(ip);
      // Not mapped (or not an IP): the table's unmap throws the error that says which.
      if (pilotAddr === undefined) return this.table.unmap(ip);
      await this.release(ip);
      return { localIp: ip, pilotAddr };
    });
  }

  /** Closes the listeners, removes every address it added, deletes its files. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.queue.catch(() => undefined);
    await this.control?.close();
    const errors: string[] = [];
    for (const ip of [...new Set([...this.listeners.keys(), ...this.owned])]) {
      try {
        await this.release(ip);
      } catch (e) {
        errors.push(`${ip}: ${toPilotError(e).message}`);
      }
    }
    if (errors.length > 0) {
      // Keep the state file: the next start removes what is still recorded.
      this.o.log.error('gateway could not remove every address', { errors });
      throw new PilotError('internal', `gateway stop left addresses behind: ${errors.join('; ')}`);
    }
    await removeFile(this.paths.state);
    await removeFile(this.paths.pid);
    this.o.log.info('gateway stopped', { accepted: this.counters.accepted, dial_failures: this.counters.dialFailures });
  }

  /** Undoes one mapping: listeners, table entry, address (if ours), state file. */
  private async release(ip: string): Promise<void> {
    const l = this.listeners.get(ip);
    this.listeners.delete(ip);
    await l?.close();
    if (this.table.lookup(ip) !== undefined) this.table.unmap(ip);
    if (this.owned.has(ip)) {
      await this.o.addresses.remove(ip);
      this.owned.delete(ip);
    }
    if (!this.stopped || this.owned.size > 0) await this.saveState();
  }

  private saveState(): Promise<void> {
    const st: GatewayState = { pid: process.pid, subnet: this.subnet, ports: this.ports, addresses: [...this.owned], mappings: this.table.list() };
    return writeState(this.paths.state, st);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    return p;
  }
}
