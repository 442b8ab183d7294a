import { describe, it, expect, afterAll } from 'vitest';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TrustStore } from './trust-store';

const dirs: string[] = [];
const tmp = async (): Promise<string> => {
  const d = await mkdtemp(path.join(os.tmpdir(), 'pilot-trust-'));
  dirs.push(d);
  return d;
};
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);

describe('TrustStore / trust.json', () => {
  it('writes the services.md §1.5 format: trusted null when empty, empty key/justification omitted', async () => {
    const file = path.join(await tmp(), 'trust.json');
    const s = new TrustStore(file);
    s.setPending({ nodeId: 7, publicKey: '', justification: '', receivedAt: T0 });
    await s.save();
    const text = await readFile(file, 'utf8');
    expect(JSON.parse(text)).toEqual({ trusted: null, pending: [{ node_id: 7, received_at: '2024-05-01T12:00:00Z' }] });
    expect(text).toContain('\n  "pending"'); // 2-space indent
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('round-trips trusted, pending and outgoing entries through the file', async () => {
    const file = path.join(await tmp(), 'trust.json');
    const s = new TrustStore(file);
    s.setTrusted({ nodeId: 3, publicKey: 'K3', approvedAt: T0, mutual: true, network: 0 });
    s.setTrusted({ nodeId: 4, publicKey: 'K4', approvedAt: T0, mutual: false, network: 2 });
    s.setPending({ nodeId: 5, publicKey: 'K5', justification: 'please', receivedAt: T0 });
    s.setOutgoing(6, T0);
    await s.save();
    const j = JSON.parse(await readFile(file, 'utf8')) as { trusted: Record<string, unknown>[] };
    expect(j.trusted[0]).toEqual({ node_id: 3, public_key: 'K3', approved_at: '2024-05-01T12:00:00Z', mutual: true });
    expect(j.trusted[1]).toMatchObject({ node_id: 4, network: 2, mutual: false });
    const r = await TrustStore.load(file);
    expect(r.listTrusted()).toEqual(s.listTrusted());
    expect(r.pending(5)).toEqual({ nodeId: 5, publicKey: 'K5', justification: 'please', receivedAt: T0 });
    expect(r.stateOf(6)).toBe('pending_out');
    expect(r.stateOf(3)).toBe('trusted');
    expect(r.stateOf(5)).toBe('pending_in');
    expect(r.stateOf(99)).toBe('none');
  });

  it('trusting clears pending and outgoing; remove reports whether it was trusted', () => {
    const s = new TrustStore(undefined);
    s.setPending({ nodeId: 5, publicKey: 'K', justification: '', receivedAt: T0 });
    s.setOutgoing(5, T0);
    s.setTrusted({ nodeId: 5, publicKey: '', approvedAt: T0, mutual: true, network: 0 });
    expect(s.pending(5)).toBeUndefined();
    expect(s.hasOutgoing(5)).toBe(false);
    s.setKey(5, 'K2');
    expect(s.trusted(5)?.publicKey).toBe('K2');
    expect(s.remove(5)).toBe(true);
    expect(s.remove(5)).toBe(false);
  });

  it('starts empty on a missing file and moves a corrupt one aside', async () => {
    const d = await tmp();
    expect((await TrustStore.load(path.join(d, 'none.json'))).listTrusted()).toEqual([]);
    const file = path.join(d, 'trust.json');
    await writeFile(file, '{ not json');
    const s = await TrustStore.load(file);
    expect(s.listTrusted()).toEqual([]);
    expect(await readFile(`${file}.corrupt`, 'utf8')).toBe('{ not json');
  });

  it('reads a reference-written file (null lists, missing optional keys)', async () => {
    const file = path.join(await tmp(), 'trust.json');
    await writeFile(file, JSON.stringify({ trusted: [{ node_id: 9, public_key: 'K', approved_at: '2024-05-01T12:00:00+02:00', mutual: false }], pending: null }));
    const s = await TrustStore.load(file);
    expect(s.trusted(9)).toEqual({ nodeId: 9, publicKey: 'K', approvedAt: T0 - 2 * 3600_000, mutual: false, network: 0 });
  });
});
