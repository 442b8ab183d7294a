/**
 * The backbone: registry (TCP) + beacon (UDP) + store, started together.
 *
 *   const bb = await startBackbone({ registry: '127.0.0.1:0', beacon: '127.0.0.1:0', dataDir, logger });
 *   bb.registryAddress; bb.beaconAddress; bb.status(); await bb.close();
 */
import { PilotError } from '../../shared/errors';
import { getCrypto, type CryptoBackend } from '../crypto';
import { systemClock, type Clock } from '../util/clock';
import type { Logger } from '../util/log';
import { BeaconServer, type BeaconServerOptions, type BeaconStats } from './beacon-server';
import { RegistryServer, type ConnectionRateLimit, type RegistryServerStats } from './registry-server';
import { RegistryState, type SnapshotJson, type VerifyFn } from './registry-state';
import { FileStore, MemoryStore, type Store, type StoreStats } from './store';
import { startNetcheckReflector, type NetcheckReflector } from './netcheck-reflector';
import { makeCachedVerifier } from './verify-cache';
import { EtcdDirectory, type EtcdDirectoryStats, type EtcdOptions } from './etcd/directory';

export type HostPort = { host: string; port: number };

export interface BackboneOptions {
  registry: string | HostPort;
  beacon: string | HostPort;
  /** Directory for the write-ahead log and snapshots; without it state lives in memory only. */
  dataDir?: string;
  /** When set, create_network requires it as `admin_token`. */
  adminToken?: string;
  logger: Logger;
  clock?: Clock;
  crypto?: CryptoBackend;
  /** Per-connection request limit of the registry (default 200/s, burst 400, close after 1000 refusals). */
  rateLimit?: ConnectionRateLimit;
  /** Registrations of new keys per source IP per minute (default 10). */
  registerRatePerMin?: number;
  idleMs?: number;
  snapshotEveryRecords?: number;
  snapshotIntervalMs?: number;
  beaconLimits?: Pick<BeaconServerOptions, 'relayPacketsPerSec' | 'relayPacketsBurst' | 'relayBytesPerSec' | 'relayBytesBurst' | 'expireMs'>;
  /**
   * The netcheck reflector (a second UDP port answering discovers, for NAT mapping detection):
   * default the beacon's host and port + 1 (ephemeral when the beacon port is 0); false: none.
   */
  netcheck?: string | HostPort | false;
  /**
   * Keep the directory in etcd instead of the embedded store, so that several backbone instances
   * serve one directory (etcd/directory.ts). Excludes dataDir.
   */
  etcd?: EtcdOptions;
}

export interface BackboneStatus {
  nodes: number;
  online: number;
  groups: number;
  trustPairs: number;
  knownKeys: number;
  registeredBeacons: number;
  beaconTableSize: number;
  relayedFrames: number;
  relayedBytes: number;
  dropped: number;
  requestsServed: number;
  errors: number;
  connections: number;
  uptimeMs: number;
  registry: RegistryServerStats;
  beacon: BeaconStats;
  store: StoreStats & { persistent: boolean; restoredRecords: number; skippedLines: number };
  /** Present in etcd mode. */
  etcd?: EtcdDirectoryStats;
}

export interface Backbone {
  registryAddress: HostPort;
  beaconAddress: HostPort;
  netcheckAddress: HostPort | undefined;
  status(): BackboneStatus;
  /** Forces a snapshot (normally periodic). */
  snapshot(): Promise<void>;
  /** Runs the stale-node reaper once. */
  reapNow(): number[];
  /** The registry's persistent state in snapshot form (for tests and diagnostics; contains no secrets but join tokens). */
  exportState(): SnapshotJson;
  close(): Promise<void>;
}

/** Parses `host:port`, `:port` (all interfaces) or `[v6]:port`. */
export function parseHostPort(v: string | HostPort): HostPort {
  if (typeof v !== 'string') return v;
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(v.trim());
  if (!m) throw new PilotError('invalid_argument', `invalid listen address "${v}"`, 'use host:port, e.g. 127.0.0.1:9000');
  const port = Number(m[3]);
  if (port > 0xffff) throw new PilotError('invalid_argument', `port out of range in "${v}"`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** The registry's signature check: a directory-sized key cache over the native backend (verify-cache.ts). */
export function makeVerifier(backend: CryptoBackend): VerifyFn {
  return makeCachedVerifier(backend).verify;
}

export async function startBackbone(opts: BackboneOptions): Promise<Backbone> {
  const clock = opts.clock ?? systemClock;
  const log = opts.logger.child({ component: 'backbone' });
  const regAddr = parseHostPort(opts.registry);
  const beaconAddr = parseHostPort(opts.beacon);
  if (opts.etcd && opts.dataDir) throw new PilotError('invalid_argument', 'a backbone keeps its directory either in a data directory or in etcd, not both', 'drop --data-dir or --etcd');
  const store: Store = opts.dataDir ? await FileStore.open(opts.dataDir) : new MemoryStore();
  const startedAt = clock.now();
  const state = new RegistryState({
    verify: makeVerifier(opts.crypto ?? getCrypto()),
    adminToken: opts.adminToken,
    now: clock.wallNow(),
    registerRatePerMin: opts.registerRatePerMin,
  });
  const directory = opts.etcd ? await EtcdDirectory.open({ ...opts.etcd, state, clock, logger: opts.logger }) : undefined;
  const loaded = await store.load();
  const { skipped } = state.restore(loaded.snapshot, loaded.records, clock.wallNow());
  const restoredRecords = loaded.records.length;
  const skippedLines = loaded.skippedLines;
  if (loaded.snapshot !== undefined || restoredRecords > 0) {
    log.info('state restored', {
      records: restoredRecords,
      skippedLines,
      skippedRecords: skipped,
      nodes: state.counts(clock.wallNow()).nodes,
    });
  }
  let registry: RegistryServer | undefined;
  let beacon: BeaconServer | undefined;
  let reflector: NetcheckReflector | undefined;
  try {
    registry = await RegistryServer.start({
      host: regAddr.host,
      port: regAddr.port,
      state,
      store,
      clock,
      logger: opts.logger,
      rateLimit: opts.rateLimit,
      idleMs: opts.idleMs,
      snapshotEveryRecords: opts.snapshotEveryRecords,
      snapshotIntervalMs: opts.snapshotIntervalMs,
      ...(directory ? { executor: directory } : {}),
    });
    beacon = await BeaconServer.start({
      host: beaconAddr.host,
      port: beaconAddr.port,
      clock,
      logger: opts.logger,
      // A private node's endpoint goes only to requesters the registry lets see it (as resolve does).
      admitPunch: (requester, target, from) => state.punchAllowed(requester, target, from),
      ...opts.beaconLimits,
    });
    if (opts.netcheck !== false) {
      const nc = opts.netcheck === undefined ? { host: beaconAddr.host, port: beaconAddr.port === 0 ? 0 : beaconAddr.port + 1 } : parseHostPort(opts.netcheck);
      reflector = await startNetcheckReflector(nc.host, nc.port, opts.logger.child({ component: 'netcheck' }));
    }
  } catch (e) {
    await beacon?.close();
    await registry?.close();
    await directory?.close();
    await store.close();
    throw new PilotError('unavailable', `backbone failed to start: ${e instanceof Error ? e.message : String(e)}`);
  }
  const reg = registry;
  const bcn = beacon;
  let closed = false;
  return {
    registryAddress: reg.address(),
    beaconAddress: bcn.address(),
    netcheckAddress: reflector?.address(),
    status(): BackboneStatus {
      const c = state.counts(clock.wallNow());
      const r = reg.stats();
      const b = bcn.stats();
      return {
        nodes: c.nodes,
        online: c.online,
        groups: c.groups,
        trustPairs: c.trustPairs,
        knownKeys: c.knownKeys,
        registeredBeacons: c.beacons,
        beaconTableSize: b.tableSize,
        relayedFrames: b.relayedFrames,
        relayedBytes: b.relayedBytes,
        dropped: b.dropped,
        requestsServed: r.requests,
        errors: r.errors,
        connections: r.connections,
        uptimeMs: clock.now() - startedAt,
        registry: r,
        beacon: b,
        store: {
          ...store.stats(),
          persistent: opts.dataDir !== undefined,
          restoredRecords,
          skippedLines,
        },
        ...(directory ? { etcd: directory.stats() } : {}),
      };
    },
    snapshot: () => reg.snapshot(),
    reapNow: () => reg.reapNow(),
    exportState: () => state.snapshot(),
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await reg.close();
      await bcn.close();
      await reflector?.close();
      await directory?.close();
      if (opts.dataDir) await reg.snapshot();
      await store.close();
      log.info('backbone stopped');
    },
  };
}

export { RegistryState } from './registry-state';
export type { Reply, RequestContext, VerifyFn, StoreRecord, SnapshotJson } from './registry-state';
export { FileStore, MemoryStore } from './store';
export type { Store, StoreStats, LoadedData } from './store';
export { RegistryServer } from './registry-server';
export { BeaconServer } from './beacon-server';
export * from './protocol';
