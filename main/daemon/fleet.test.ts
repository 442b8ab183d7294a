import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { parseAddress } from '../../shared/address';
import { IpcClient, type IpcConn } from './client';
import { envelope, makeHome, pilotctl, startBackboneProc, type BackboneProc, type Home } from './testing/procs';

// The seed's fleet pattern from a shell, with real processes: a coordinator finds a specialist by
// capability tag, submits a task to it, the specialist works it and sends results back; a private
// specialist only talks after trust is approved.
describe('fleet pattern through pilotctl', () => {
  let dir: string;
  let bb: BackboneProc;
  let coord: Home;
  let papers: Home;
  let news: Home;
  const sfx = Math.random().toString(36).slice(2, 6);

  const start = async (h: Home, hostname: string, extra: string[]): Promise<Record<string, unknown>> => {
    const r = await pilotctl(h.env, ['--json', 'daemon', 'start', '--registry', bb.registry, '--beacon', bb.beacon, '--netcheck', bb.netcheck, '--hostname', hostname, '--listen', '127.0.0.1:0', ...extra]);
    expect(r.code, r.stderr).toBe(0);
    return envelope(r)['data'] as Record<string, unknown>;
  };
  const ok = async (h: Home, args: string[]): Promise<Record<string, unknown>> => {
    const r = await pilotctl(h.env, ['--json', ...args]);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return envelope(r)['data'] as Record<string, unknown>;
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-fleet-'));
    bb = await startBackboneProc(makeHome(dir, 'bb').env, path.join(dir, 'bb-data'));
    coord = makeHome(dir, 'coord');
    papers = makeHome(dir, 'papers');
    news = makeHome(dir, 'news');
    await Promise.all([
      start(coord, `coordinator-${sfx}`, ['--public']),
      start(papers, `specialist-papers-${sfx}`, ['--public', '--tags', `citations-${sfx}`]),
      start(news, `specialist-news-${sfx}`, ['--tags', `news-${sfx}`]),
    ]);
  });

  afterAll(async () => {
    await Promise.all([coord, papers, news].map((h) => pilotctl(h.env, ['daemon', 'stop'])));
    if (bb && bb.proc.exitCode === null) bb.proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('finds by tag, submits by tag, and the task round trip completes', async () => {
    const found = await ok(coord, ['find', '--tag', `citations-${sfx}`]);
    const nodes = found['nodes'] as { hostname: string }[];
    expect(nodes.map((n) => n.hostname)).toEqual([`specialist-papers-${sfx}`]);

    const sub = await ok(coord, ['task', 'submit', '--tag', `citations-${sfx}`, '--task', 'resolve citation doi:10.1000/xyz']);
    expect(sub).toMatchObject({ accepted: true, status: 200 });
    const id = String(sub['task_id']);

    const queue = await ok(papers, ['task', 'queue']);
    expect((queue['queue'] as { task_id: string }[]).map((q) => q.task_id)).toEqual([id]);
    expect(await ok(papers, ['task', 'accept', '--id', id])).toMatchObject({ status: 'ACCEPTED' });
    expect(await ok(papers, ['task', 'execute'])).toMatchObject({ task_id: id, status: 'EXECUTING' });
    expect(await ok(papers, ['task', 'send-results', '--id', id, '--results', 'Smith et al. 2021'])).toMatchObject({ status: 'SUCCEEDED', sent_type: 'text' });

    // The submitter sees its task completed (results arrive asynchronously over port 1003).
    let status = '';
    for (let i = 0; i < 50 && status !== 'COMPLETED'; i++) {
      const list = await ok(coord, ['task', 'list', '--type', 'submitted']);
      status = (list['tasks'] as { task_id: string; status: string }[]).find((t) => t.task_id === id)?.status ?? '';
    }
    expect(status).toBe('COMPLETED');
  });

  it('a private specialist refuses streams until the coordinator is trusted', async () => {
    const target = `specialist-news-${sfx}`;
    // Not trusted: the registry does not release the private node's endpoint.
    const denied = await pilotctl(coord.env, ['--json', 'send-message', target, '--data', 'hello']);
    expect(denied.code).toBe(1);
    expect(envelope(denied)['status']).toBe('error');

    expect(await ok(coord, ['handshake', target, 'need the news feed'])).toMatchObject({ status: 'sent' });
    let pending: { node_id: number; received_at: number }[] = [];
    for (let i = 0; i < 50 && pending.length === 0; i++) pending = (await ok(news, ['pending']))['pending'] as typeof pending;
    expect(pending).toHaveLength(1);
    // Unix seconds on the IPC, as the reference's (cli.md 0x04/0x05), and a real date in the text view.
    const now = Date.now() / 1000;
    expect(pending[0]!.received_at).toBeGreaterThan(now - 600);
    expect(pending[0]!.received_at).toBeLessThan(now + 600);
    const text = await pilotctl(news.env, ['pending']);
    expect(text.stdout).toContain(String(new Date().getFullYear()));
    await ok(news, ['approve', String(pending[0]!.node_id)]);
    const trusted = (await ok(news, ['trust']))['trusted'] as { approved_at: number }[];
    expect(trusted[0]!.approved_at).toBeGreaterThan(now - 600);
    expect(trusted[0]!.approved_at).toBeLessThan(now + 600);

    let sent: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && !sent; i++) {
      const r = await pilotctl(coord.env, ['--json', 'send-message', target, '--data', 'hello']);
      if (r.code === 0) sent = envelope(r)['data'] as Record<string, unknown>;
    }
    expect(sent).toMatchObject({ type: 'text' });
  });

  it('carries 50 MB through one stream between two daemon processes, byte-exact', async () => {
    const info = await ok(papers, ['info']);
    const ca = await IpcClient.connect(papers.socket);
    const cb = await IpcClient.connect(coord.socket);
    try {
      const total = 50 * 1024 * 1024;
      const accepted = new Promise<IpcConn>((resolve, reject) => ca.bind(5077, resolve).catch(reject));
      const conn = await cb.dial(parseAddress(String(info['address'])), 5077);
      const server = await accepted;
      const recvHash = createHash('sha256');
      let received = 0;
      const done = new Promise<void>((resolve) => {
        server.on('data', (c) => {
          recvHash.update(c);
          received += c.length;
          if (received >= total) resolve();
        });
      });
      const sendHash = createHash('sha256');
      const chunk = 256 * 1024;
      for (let sent = 0; sent < total; sent += chunk) {
        const b = randomBytes(chunk);
        sendHash.update(b);
        conn.write(b);
        if ((sent / chunk) % 16 === 15) await cb.flush();
      }
      await done;
      expect(received).toBe(total);
      expect(recvHash.digest('hex')).toBe(sendHash.digest('hex'));
      await conn.close();
    } finally {
      ca.close();
      cb.close();
    }
  }, 120_000);

  it('netcheck reports the node is not behind a NAT on loopback', async () => {
    expect(await ok(coord, ['netcheck'])).toMatchObject({ nat_type: 'none', mapping: 'endpoint-independent', port_preserved: true });
    const text = await pilotctl(coord.env, ['netcheck']);
    expect(text.stdout).toContain('NAT type:         none');
  });
});
