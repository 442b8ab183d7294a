/**
 * Test helpers for the services: a real backbone and real nodes on 127.0.0.1 in one process, each
 * with its own temporary state directory, and a bounded wait for an emitter event.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { EventEmitter } from 'node:events';
import { startBackbone, type Backbone } from '../../backbone';
import { Identity } from '../../crypto';
import { silentLogger } from '../../util/log';
import { PilotNode } from '../node';
import { startServices, type Services, type ServicesOptions } from './index';

export interface Peer {
  node: PilotNode;
  svc: Services;
  dir: string;
  identity: Identity;
}

export class TestNet {
  private readonly peers: Peer[] = [];
  private readonly dirs: string[] = [];
  private constructor(
    readonly bb: Backbone,
    readonly registry: string,
    readonly beacon: string,
  ) {}

  static async start(): Promise<TestNet> {
    const bb = await startBackbone({ registry: '127.0.0.1:0', beacon: '127.0.0.1:0', logger: silentLogger, registerRatePerMin: 10_000 });
    return new TestNet(bb, `127.0.0.1:${bb.registryAddress.port}`, `127.0.0.1:${bb.beaconAddress.port}`);
  }

  async tmpDir(): Promise<string> {
    const d = await mkdtemp(path.join(os.tmpdir(), 'pilot-svc-'));
    this.dirs.push(d);
    return d;
  }

  /** A started node with services; `dir` reuses a state directory (restart tests). */
  async peer(
    opts: { public?: boolean; hostname?: string; tags?: string[]; dir?: string; identity?: Identity } & Partial<Omit<ServicesOptions, 'dataDir'>> = {},
  ): Promise<Peer> {
    const identity = opts.identity ?? Identity.generate();
    const node = new PilotNode({
      identity,
      registry: this.registry,
      beacon: this.beacon,
      listen: '127.0.0.1:0',
      public: opts.public ?? false,
      ...(opts.hostname ? { hostname: opts.hostname } : {}),
      ...(opts.tags ? { tags: opts.tags } : {}),
    });
    await node.start();
    const dir = opts.dir ?? (await this.tmpDir());
    const svc = await startServices(node, {
      dataDir: dir,
      trust: { pollIntervalMs: 1000, ...opts.trust },
      ...(opts.tasks ? { tasks: opts.tasks } : {}),
      ...(opts.disable ? { disable: opts.disable } : {}),
    });
    const p = { node, svc, dir, identity };
    this.peers.push(p);
    return p;
  }

  async stopPeer(p: Peer): Promise<void> {
    const i = this.peers.indexOf(p);
    if (i >= 0) this.peers.splice(i, 1);
    await p.svc.stop();
    await p.node.stop();
  }

  async close(): Promise<void> {
    for (const p of [...this.peers]) await this.stopPeer(p).catch(() => undefined);
    await this.bb.close();
    for (const d of this.dirs) await rm(d, { recursive: true, force: true });
  }
}

/** Resolves with the args of the first `event` for which `match` holds; rejects after `timeoutMs`. */
export function waitFor<A extends unknown[]>(
  emitter: EventEmitter,
  event: string,
  match: (...args: A) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<A> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for "${event}"`));
    }, timeoutMs);
    const on = (...args: unknown[]): void => {
      if (!match(...(args as A))) return;
      clearTimeout(t);
      emitter.off(event, on);
      resolve(args as A);
    };
    emitter.on(event, on);
  });
}
