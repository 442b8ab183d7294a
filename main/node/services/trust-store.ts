/**
 * The node's trust lists and their file, trust.json (services.md §1.5):
 *
 *   { "trusted": [ {node_id, public_key, approved_at, mutual, network?} ] | null,
 *     "pending": [ {node_id, public_key?, justification?, received_at} ],
 *     "outgoing": [ {node_id, sent_at} ] }        ← our extension, omitted when empty
 *
 * 2-space indented, written atomically (temp file + fsync + rename + directory fsync), mode 0600. `outgoing` (requests
 * we sent and not yet answered) is persisted so a mutual auto-approve or an accept still works after a
 * restart; the reference ignores the unknown key. Mutations are synchronous; `save()` is serialised.
 */
import { readFile, rename } from 'node:fs/promises';
import type { TrustState } from '../../../shared/contract';
import type { Logger } from '../../util/log';
import { silentLogger } from '../../util/log';
import { parseTime, rfc3339 } from './common';
import { writeFileAtomic } from '../../util/atomic-file';

export interface TrustedPeer {
  nodeId: number;
  publicKey: string;
  /** Wall-clock ms. */
  approvedAt: number;
  mutual: boolean;
  /** The shared group that auto-approved it, 0 otherwise. */
  network: number;
}

export interface PendingRequest {
  nodeId: number;
  publicKey: string;
  justification: string;
  receivedAt: number;
}

export interface OutgoingRequest {
  nodeId: number;
  sentAt: number;
}

interface TrustFileJson {
  trusted: { node_id: number; public_key: string; approved_at: string; mutual: boolean; network?: number }[] | null;
  pending: { node_id: number; public_key?: string; justification?: string; received_at: string }[] | null;
  outgoing?: { node_id: number; sent_at: string }[];
}

const isId = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 1 && x <= 0xffffffff;
const str = (x: unknown): string => (typeof x === 'string' ? x : '');

export class TrustStore {
  private readonly trustedMap = new Map<number, TrustedPeer>();
  private readonly pendingMap = new Map<number, PendingRequest>();
  private readonly outgoingMap = new Map<number, OutgoingRequest>();
  private chain: Promise<void> = Promise.resolve();
  private dirty = false;

  /** `file` undefined = memory only. */
  constructor(
    readonly file: string | undefined,
    private readonly log: Logger = silentLogger,
  ) {}

  /** Loads `file`; a missing file is an empty store, a corrupt one is moved aside (`.corrupt`) and logged. */
  static async load(file: string | undefined, log: Logger = silentLogger): Promise<TrustStore> {
    const s = new TrustStore(file, log);
    if (!file) return s;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return s;
      throw e;
    }
    try {
      s.fromJson(JSON.parse(text) as unknown);
    } catch (e) {
      log.warn('trust.json is corrupt; starting with empty trust lists', { file, error: String(e) });
      await rename(file, `${file}.corrupt`).catch(() => undefined);
    }
    return s;
  }

  private fromJson(v: unknown): void {
    if (typeof v !== 'object' || v === null) throw new Error('not an object');
    const o = v as Record<string, unknown>;
    for (const t of Array.isArray(o['trusted']) ? (o['trusted'] as unknown[]) : []) {
      if (typeof t !== 'object' || t === null) continue;
      const r = t as Record<string, unknown>;
      if (!isId(r['node_id'])) continue;
      this.trustedMap.set(r['node_id'], {
        nodeId: r['node_id'],
        publicKey: str(r['public_key']),
        approvedAt: parseTime(r['approved_at']) ?? 0,
        mutual: r['mutual'] === true,
        network: typeof r['network'] === 'number' ? r['network'] : 0,
      });
    }
    for (const p of Array.isArray(o['pending']) ? (o['pending'] as unknown[]) : []) {
      if (typeof p !== 'object' || p === null) continue;
      const r = p as Record<string, unknown>;
      if (!isId(r['node_id'])) continue;
      this.pendingMap.set(r['node_id'], {
        nodeId: r['node_id'],
        publicKey: str(r['public_key']),
        justification: str(r['justification']),
        receivedAt: parseTime(r['received_at']) ?? 0,
      });
    }
    for (const p of Array.isArray(o['outgoing']) ? (o['outgoing'] as unknown[]) : []) {
      if (typeof p !== 'object' || p === null) continue;
      const r = p as Record<string, unknown>;
      if (!isId(r['node_id'])) continue;
      this.outgoingMap.set(r['node_id'], { nodeId: r['node_id'], sentAt: parseTime(r['sent_at']) ?? 0 });
    }
  }

  toJson(): TrustFileJson {
    const trusted = [...this.trustedMap.values()]
      .sort((a, b) => a.nodeId - b.nodeId)
      .map((t) => ({
        node_id: t.nodeId,
        public_key: t.publicKey,
        approved_at: rfc3339(t.approvedAt),
        mutual: t.mutual,
        ...(t.network ? { network: t.network } : {}),
      }));
    const pending = [...this.pendingMap.values()]
      .sort((a, b) => a.nodeId - b.nodeId)
      .map((p) => ({
        node_id: p.nodeId,
        ...(p.publicKey ? { public_key: p.publicKey } : {}),
        ...(p.justification ? { justification: p.justification } : {}),
        received_at: rfc3339(p.receivedAt),
      }));
    const out: TrustFileJson = { trusted: trusted.length ? trusted : null, pending };
    if (this.outgoingMap.size) {
      out.outgoing = [...this.outgoingMap.values()].map((o) => ({ node_id: o.nodeId, sent_at: rfc3339(o.sentAt) }));
    }
    return out;
  }

  // ---- queries ----

  trusted(nodeId: number): TrustedPeer | undefined {
    return this.trustedMap.get(nodeId);
  }
  isTrusted(nodeId: number): boolean {
    return this.trustedMap.has(nodeId);
  }
  pending(nodeId: number): PendingRequest | undefined {
    return this.pendingMap.get(nodeId);
  }
  hasOutgoing(nodeId: number): boolean {
    return this.outgoingMap.has(nodeId);
  }
  listTrusted(): TrustedPeer[] {
    return [...this.trustedMap.values()].sort((a, b) => a.nodeId - b.nodeId);
  }
  listPending(): PendingRequest[] {
    return [...this.pendingMap.values()].sort((a, b) => a.receivedAt - b.receivedAt || a.nodeId - b.nodeId);
  }
  listOutgoing(): OutgoingRequest[] {
    return [...this.outgoingMap.values()];
  }
  stateOf(nodeId: number): TrustState {
    if (this.trustedMap.has(nodeId)) return 'trusted';
    if (this.pendingMap.has(nodeId)) return 'pending_in';
    if (this.outgoingMap.has(nodeId)) return 'pending_out';
    return 'none';
  }

  // ---- mutations (each schedules a save) ----

  /** Trusted; clears any pending/outgoing entry for that node. Keeps an existing key if `publicKey` is "". */
  setTrusted(p: TrustedPeer): void {
    const old = this.trustedMap.get(p.nodeId);
    this.trustedMap.set(p.nodeId, { ...p, publicKey: p.publicKey || old?.publicKey || '' });
    this.pendingMap.delete(p.nodeId);
    this.outgoingMap.delete(p.nodeId);
    this.touch();
  }
  /** Fills in a trusted peer's key learnt later (relayed paths). */
  setKey(nodeId: number, publicKey: string): void {
    const t = this.trustedMap.get(nodeId);
    if (t && !t.publicKey && publicKey) {
      t.publicKey = publicKey;
      this.touch();
    }
  }
  setPending(p: PendingRequest): void {
    this.pendingMap.set(p.nodeId, p);
    this.touch();
  }
  removePending(nodeId: number): boolean {
    const had = this.pendingMap.delete(nodeId);
    if (had) this.touch();
    return had;
  }
  setOutgoing(nodeId: number, sentAt: number): void {
    this.outgoingMap.set(nodeId, { nodeId, sentAt });
    this.touch();
  }
  clearOutgoing(nodeId: number): boolean {
    const had = this.outgoingMap.delete(nodeId);
    if (had) this.touch();
    return had;
  }
  /** Removes every trace of `nodeId`; returns whether it was trusted. */
  remove(nodeId: number): boolean {
    const was = this.trustedMap.delete(nodeId);
    const p = this.pendingMap.delete(nodeId);
    const o = this.outgoingMap.delete(nodeId);
    if (was || p || o) this.touch();
    return was;
  }

  private touch(): void {
    this.dirty = true;
    this.save().catch((e: unknown) => this.log.error('cannot write trust.json', { error: String(e) }));
  }

  /** Writes the file if anything changed; serialised, resolves when the latest state is on disk. */
  save(): Promise<void> {
    const file = this.file;
    if (!file) return Promise.resolve();
    this.chain = this.chain.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      try {
        await writeFileAtomic(file, JSON.stringify(this.toJson(), null, 2), { mode: 0o600 });
      } catch (e) {
        this.dirty = true;
        this.log.error('cannot write trust.json', { file, error: String(e) });
      }
    });
    return this.chain;
  }
}
