import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { formatAddress } from '../../shared/address';
import { startBackbone, type Backbone } from '../backbone';
import { Identity } from '../crypto';
import { PilotNode } from './node';
import { echo, startServices, type Services } from './services';
import { silentLogger } from '../util/log';
import { NodeMetrics, PROMETHEUS_CONTENT_TYPE } from '../observe/metrics';
import { isLoopbackHost, parseMetricsListen, startMetricsHttp } from '../observe/metrics-http';

const PROMTOOL = '/usr/bin/promtool';

/** One sample's value from a text exposition (undefined: no such series). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const kv of (m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) got[kv[1]!] = kv[2]!;
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[4]);
  }
  return undefined;
}

function promtool(text: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(PROMTOOL, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out }));
    p.stdin.end(text);
  });
}

describe('node metrics over two real nodes', () => {
  let bb: Backbone;
  let a: PilotNode;
  let b: PilotNode;
  let metrics: NodeMetrics;
  let services: Services;
  let dir: string;

  beforeAll(async () => {
    bb = await startBackbone({ registry: '127.0.0.1:0', beacon: '127.0.0.1:0', logger: silentLogger });
    const opts = { registry: `127.0.0.1:${bb.registryAddress.port}`, beacon: `127.0.0.1:${bb.beaconAddress.port}`, public: true, listen: '127.0.0.1:0' };
    a = new PilotNode({ identity: Identity.generate(), hostname: 'metrics-a', ...opts });
    b = new PilotNode({ identity: Identity.generate(), ...opts });
    await a.start();
    await b.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-metrics-'));
    services = await startServices(a, { dataDir: dir });
    metrics = new NodeMetrics({ node: a, services });
    // b uses a's echo service once (a service request at a).
    await echo(b, a.address, new Uint8Array([1, 2, 3]));
    // b echoes whatever a stream brings.
    b.listen(77, (s) => {
      s.on('data', (d: Uint8Array) => void s.write(d));
    });
    for (let i = 0; i < 5; i++) await a.controlPing(b.nodeId);
    const s = await a.dial(b.address, 77);
    const payload = new Uint8Array(20_000).fill(7);
    let got = 0;
    const echoed = new Promise<void>((resolve) => {
      s.on('data', (d: Uint8Array) => {
        got += d.length;
        if (got >= payload.length) resolve();
      });
    });
    s.write(payload);
    await echoed;
    s.end();
  });
  afterAll(async () => {
    metrics?.close();
    await services?.stop();
    await b?.stop();
    await a?.stop();
    await bb?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('exports per-peer series with plausible values', async () => {
    const text = await metrics.text();
    const peer = formatAddress(b.address);
    expect(sample(text, 'pilot_node_info', { address: formatAddress(a.address), hostname: 'metrics-a' })).toBe(1);
    const sent = sample(text, 'pilot_peer_sent_bytes_total', { peer })!;
    const recv = sample(text, 'pilot_peer_received_bytes_total', { peer })!;
    expect(sent).toBeGreaterThan(20_000);
    expect(recv).toBeGreaterThan(20_000);
    expect(sample(text, 'pilot_peer_sent_frames_total', { peer })).toBeGreaterThanOrEqual(5 + 5);
    expect(sample(text, 'pilot_peer_received_frames_total', { peer })).toBeGreaterThanOrEqual(5 + 5);
    expect(sample(text, 'pilot_peer_key_exchanges_total', { peer, direction: 'sent' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'pilot_peer_path', { peer, path: 'direct' })).toBe(1);
    expect(sample(text, 'pilot_peer_relayed_frames_total', { peer, direction: 'sent' })).toBe(0);
    expect(sample(text, 'pilot_peer_path_changes_total', { peer })).toBeGreaterThanOrEqual(1);
    // The per-peer bytes are part of the node's totals.
    expect(sample(text, 'pilot_tunnel_sent_bytes_total')!).toBeGreaterThanOrEqual(sent);
    expect(sample(text, 'pilot_tunnel_received_packets_total')!).toBeGreaterThan(10);
    // Five pings, every one observed; the buckets are cumulative and end at the count.
    expect(sample(text, 'pilot_peer_rtt_seconds_count', { peer })).toBe(5);
    expect(sample(text, 'pilot_peer_rtt_seconds_bucket', { peer, le: '+Inf' })).toBe(5);
    const rttSum = sample(text, 'pilot_peer_rtt_seconds_sum', { peer })!;
    expect(rttSum).toBeGreaterThan(0);
    expect(rttSum).toBeLessThan(5 * 3); // each below the ping timeout
    expect(sample(text, 'pilot_rtt_seconds_count', { path: 'direct' })).toBe(5);
    expect(sample(text, 'pilot_peers', { path: 'direct' })).toBe(1);
    expect(sample(text, 'pilot_metrics_peers_omitted')).toBe(0);
    expect(sample(text, 'pilot_registry_connected')).toBe(1);
    expect(sample(text, 'pilot_service_requests_total', { service: 'echo' })).toBe(1);
    expect(sample(text, 'pilot_service_events_total', { service: 'echo', event: 'bytes' })).toBe(3);
    expect(sample(text, 'pilot_service_errors_total', { service: 'dataexchange' })).toBe(0);
    // The HELP text states the cap.
    expect(text).toMatch(/# HELP pilot_peer_sent_bytes_total .*at most 1000 peers per scrape, the most recently active/);
    // A scrape may ask for fewer peers (the IPC answer must fit a frame).
    const none = await metrics.text({ maxPeers: 0 });
    expect(sample(none, 'pilot_peer_sent_bytes_total', { peer })).toBeUndefined();
    expect(sample(none, 'pilot_peer_rtt_seconds_count', { peer })).toBeUndefined();
    expect(sample(none, 'pilot_metrics_peers_omitted')).toBe(1);
    expect(sample(none, 'pilot_rtt_seconds_count', { path: 'direct' })).toBe(5);
  });

  it('passes promtool check metrics', async (ctx) => {
    if (!fs.existsSync(PROMTOOL)) {
      if (process.env['CI'] === 'true') throw new Error(`${PROMTOOL} is missing (apt-get install prometheus)`);
      console.log(`skipped: ${PROMTOOL} not installed (apt-get install prometheus)`);
      ctx.skip();
      return;
    }
    const text = await metrics.text();
    if (process.env['PILOT_METRICS_DUMP']) fs.writeFileSync(process.env['PILOT_METRICS_DUMP'], text);
    const r = await promtool(text);
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
    // promtool does fail on a broken exposition (this test can fail).
    const bad = await promtool('# TYPE x_total counter\nx_total{a="1" 1\n');
    expect(bad.code).not.toBe(0);
  });

  it('caps the per-peer series and says how many were left out', async () => {
    const capped = new NodeMetrics({ node: b, maxPeers: 1 });
    try {
      // b knows a; a third node makes two peers.
      const c = new PilotNode({ identity: Identity.generate(), registry: `127.0.0.1:${bb.registryAddress.port}`, beacon: `127.0.0.1:${bb.beaconAddress.port}`, public: true, listen: '127.0.0.1:0' });
      await c.start();
      try {
        await c.controlPing(b.nodeId);
        await vi.waitFor(() => expect(b.tunnels.listPeers().length).toBe(2));
        const text = await capped.text();
        expect(sample(text, 'pilot_metrics_peers_omitted')).toBe(1);
        const exported = text.split('\n').filter((l) => l.startsWith('pilot_peer_path{'));
        expect(exported).toHaveLength(1);
        expect(sample(text, 'pilot_peers', { path: 'direct' })).toBe(2);
      } finally {
        await c.stop();
      }
    } finally {
      capped.close();
      // Closing frees b's observer slot.
      expect(b.rttObserver).toBeUndefined();
    }
  });

  it('json() carries the same figures', async () => {
    const j = await metrics.json();
    expect(j.address).toBe(formatAddress(a.address));
    expect(j.peers).toBeGreaterThanOrEqual(1);
    const m = j.metrics.find((x) => x.name === 'pilot_peer_sent_bytes_total');
    expect(m?.values.find((v) => v.labels['peer'] === formatAddress(b.address))?.value).toBeGreaterThan(20_000);
  });

  it('serves /metrics over HTTP on loopback', async () => {
    const srv = await startMetricsHttp({ listen: '127.0.0.1:0', text: () => metrics.text() });
    try {
      const r = await fetch(`http://${srv.address}/metrics`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe(PROMETHEUS_CONTENT_TYPE);
      expect(await r.text()).toContain('pilot_peer_rtt_seconds_bucket');
      expect((await fetch(`http://${srv.address}/other`)).status).toBe(404);
      expect((await fetch(`http://${srv.address}/metrics`, { method: 'POST' })).status).toBe(405);
      expect(srv.scrapes).toBe(1);
    } finally {
      await srv.close();
    }
  });
});

describe('metrics endpoint address', () => {
  it('parses host:port forms', () => {
    expect(parseMetricsListen('127.0.0.1:9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseMetricsListen(':9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseMetricsListen('9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseMetricsListen('[::1]:9464')).toEqual({ host: '::1', port: 9464 });
    expect(parseMetricsListen('localhost:1')).toEqual({ host: '127.0.0.1', port: 1 });
    expect(() => parseMetricsListen('127.0.0.1:99999')).toThrow(/invalid metrics address/);
    expect(() => parseMetricsListen('127.0.0.1:x')).toThrow(/invalid metrics address/);
  });

  it('knows loopback', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('127.9.9.9')).toBe(true);
    expect(isLoopbackHost('::1')).toBe(true);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
    expect(isLoopbackHost('::')).toBe(false);
    expect(isLoopbackHost('10.0.0.1')).toBe(false);
  });

  it('refuses a non-loopback bind unless allowed', async () => {
    await expect(startMetricsHttp({ listen: '0.0.0.0:0', text: () => Promise.resolve('') })).rejects.toThrow(/not a loopback address/);
    const srv = await startMetricsHttp({ listen: '0.0.0.0:0', text: () => Promise.resolve(''), allowNonLoopback: true });
    expect(srv.address).toMatch(/^0\.0\.0\.0:\d+$/);
    await srv.close();
  });
});
