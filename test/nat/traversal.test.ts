// Pilot-level NAT traversal (issue #6): real backbone and node daemons in lab namespaces, driven the
// way an operator would (pilotctl inside each host's namespace) and the way the console does (the
// console contract through the daemon's IPC extension). One topology serves every case:
//
//   beacon  public: `pilotctl backbone start` (registry :9000, beacon :9001, netcheck reflector :9002)
//   p1 → p2  public → public                                   direct
//   e → p3   behind re (MASQUERADE) → public: e dials out       direct
//   a → b    behind ra, rb (MASQUERADE, port-keeping)           punched
//   c → d    behind rc, rd (MASQUERADE --random)                relay; later rc, rd turn port-keeping
//   p4 → p5, f → p3, g → b, i → d: the same four cases again (f beside e behind re, g beside a, i
//            beside c), for the 20 % loss runs, so that all eight loss runs go at the same time.
//
// Loss is put on the dialing side's link only (its own, so concurrent runs do not share one). The
// public → public runs get receivers of their own: a public sender's 4 KiB datagrams are IP
// fragments on the wire, loss leaves orphan fragments in the receiver's reassembly memory (per
// namespace, 4 MiB, 30 s), and a shared receiver would couple the two runs. Behind a NAT router the
// loss rule sees whole datagrams (conntrack reassembles before forwarding), so no orphans there.
// Run with `npm run test:nat`. Needs root, `ip` and `iptables`; without them it says why and is
// skipped — or fails when CI is set.

import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { Lab, checkPreconditions } from './lab';
import { PilotFleet, describeTransfer, type TransferResult } from './pilot-tools';
import type { PathKind, PeerView } from '../../shared/contract';

const pre = await checkPreconditions();
const inCI = Boolean(process.env['CI']);

if (!pre.ok) {
  const msg = `Pilot NAT traversal tests cannot run here: ${pre.reason}`;
  console.warn(msg);
  if (inCI) {
    describe('Pilot NAT traversal preconditions', () => {
      it('has root, ip and iptables with NAT in a namespace (required because CI is set)', () => {
        throw new Error(`${msg} — CI is set, so this is a failure, not a skip`);
      });
    });
  }
}

const MB = 1 << 20;

interface Pair {
  /** Case name. */
  what: string;
  /** The side that dials first (and, in the loss runs, whose link is lossy). */
  x: string;
  y: string;
  /** Expected path, as seen from x and from y. */
  pathX: PathKind;
  pathY: PathKind;
}

const PAIRS: Pair[] = [
  { what: 'public ↔ public', x: 'p1', y: 'p2', pathX: 'direct', pathY: 'direct' },
  { what: 'port-keeping NAT → public', x: 'e', y: 'p3', pathX: 'direct', pathY: 'direct' },
  { what: 'port-keeping NAT ↔ port-keeping NAT', x: 'a', y: 'b', pathX: 'punched', pathY: 'punched' },
  { what: 'random NAT ↔ random NAT', x: 'c', y: 'd', pathX: 'relay', pathY: 'relay' },
];

/** The loss runs: the four cases at 5 % (the pairs above) and at 20 % (a second dialer each). */
const SECOND: Record<string, [string, string]> = { p1: ['p4', 'p5'], e: ['f', 'p3'], a: ['g', 'b'], c: ['i', 'd'] };
const LOSS_RUNS: (Pair & { loss: number })[] = [
  ...PAIRS.map((p) => ({ ...p, loss: 0.05 })),
  ...PAIRS.map((p) => ({ ...p, x: (SECOND[p.x] as [string, string])[0], y: (SECOND[p.x] as [string, string])[1], loss: 0.2 })),
];
/**
 * Time a 20 MB loss transfer may take. With all eight runs at once the transport moves 0.95–1.71 MB/s at
 * 5 % and 0.49–0.93 MB/s at 20 % here (BENCHMARKS.md), i.e. 12–40 s; the limit leaves room for a slower
 * CI machine and fails with the throughput in the message. (Before SACK/RACK recovery and tail loss
 * probes, 20 % loss meant 0.04–0.07 MB/s: one timeout retransmission per RTO.)
 */
const LOSS_TRANSFER_MS = 150_000;

// Without the preconditions (and CI unset) the suite is reported skipped, under a name that says why.
describe.runIf(pre.ok)(pre.ok ? 'Pilot NAT traversal (issue #6)' : `Pilot NAT traversal (skipped: ${pre.reason})`, () => {
  const lab = new Lab();
  let fleet: PilotFleet;

  beforeAll(async () => {
    await lab.setup({
      routers: {
        re: { nat: 'masquerade' },
        ra: { nat: 'masquerade' },
        rb: { nat: 'masquerade' },
        rc: { nat: 'random' },
        rd: { nat: 'random' },
      },
      hosts: {
        beacon: {},
        p1: {},
        p2: {},
        p3: {},
        p4: {},
        p5: {},
        e: { behind: 're' },
        f: { behind: 're' },
        a: { behind: 'ra' },
        g: { behind: 'ra' },
        b: { behind: 'rb' },
        c: { behind: 'rc' },
        i: { behind: 'rc' },
        d: { behind: 'rd' },
      },
    });
    fleet = new PilotFleet(lab);
    await fleet.startBackbone('beacon');
    await Promise.all(['p1', 'p2', 'p3', 'p4', 'p5', 'e', 'f', 'a', 'g', 'b', 'c', 'i', 'd'].map((n) => fleet.startNode(n)));
  }, 120_000);

  afterAll(async () => {
    await fleet?.close();
    await lab.teardown();
  });

  // ---- helpers (closures over the fleet) --------------------------------------------------------

  /** `pilotctl ping` from x to y inside x's namespace; the JSON data. */
  async function cliPing(x: string, y: string, count: number, timeout: string): Promise<{ path: PathKind; stats: { sent: number; received: number } }> {
    const r = await fleet.pilotctl(x, ['ping', String(fleet.node(y).nodeId), '--count', String(count), '--timeout', timeout]);
    expect(r.code, `pilotctl ping ${y} on ${x} failed: ${r.stderr || r.stdout}`).toBe(0);
    return r.json?.data as { path: PathKind; stats: { sent: number; received: number } };
  }

  /** What `pilotctl peers --json` and the console API (`peers.list`) on x say about y. */
  async function views(x: string, y: string): Promise<{ cli: PeerView | undefined; api: PeerView | undefined }> {
    const [cli, api] = await Promise.all([fleet.cliPeer(x, y), fleet.apiPeer(x, y)]);
    return { cli, api };
  }

  async function expectPath(x: string, y: string, path: PathKind): Promise<void> {
    const v = await views(x, y);
    expect(v.cli?.path, `pilotctl peers --json on ${x}: path to ${y}`).toBe(path);
    expect(v.api?.path, `console API peers.list on ${x}: path to ${y}`).toBe(path);
    expect(v.cli?.encrypted && v.cli.authenticated, `tunnel ${x} → ${y} encrypted and authenticated`).toBe(true);
  }

  async function relayed(x: string, y: string): Promise<{ out: number; in: number }> {
    const d = await fleet.inspect(x, y);
    return { out: d.counters.relayedOut, in: d.counters.relayedIn };
  }

  function expectByteExact(r: TransferResult, what: string): void {
    const msg = `${what}: ${describeTransfer(r)}`;
    expect(r.error, msg).toBeUndefined();
    expect(r.recvBytes, msg).toBe(r.bytes);
    expect(r.recvSha, msg).toBe(r.sentSha);
    expect(r.accepted, `${what}: one stream from start to end`).toBe(1);
  }

  // ---- netcheck --------------------------------------------------------------------------------

  describe('pilotctl netcheck: what each node learns about its own NAT from the beacon', () => {
    it.each([
      ['p1', 'none'],
      ['e', 'port-preserving'],
      ['a', 'port-preserving'],
      ['b', 'port-preserving'],
      ['c', 'symmetric'],
      ['d', 'symmetric'],
    ] as const)('%s: %s', async (name, natType) => {
      const r = await fleet.pilotctl(name, ['netcheck']);
      expect(r.code, `pilotctl netcheck on ${name}: ${r.stderr || r.stdout}`).toBe(0);
      const nc = r.json?.data as { tunnel_local: string; public_endpoint?: string; public_endpoint_alt?: string; mapping: string; nat_type: string; port_preserved?: boolean };
      // The console API answers the same (the CLI is a face over it).
      const api = await fleet.netcheckApi(name);
      expect(api.natType).toBe(nc.nat_type);

      expect(nc.nat_type).toBe(natType);
      const localPort = Number(nc.tunnel_local.split(':').pop());
      const pub = nc.public_endpoint ?? '';
      const alt = nc.public_endpoint_alt ?? '';
      expect(pub.split(':')[0], 'the beacon sees the host (or its router) address').toBe(lab.host(name).publicIp);
      expect(alt.split(':')[0], 'the netcheck port answered').toBe(lab.host(name).publicIp);
      if (natType === 'symmetric') {
        expect(nc.mapping).toBe('endpoint-dependent');
        expect(alt, 'a new port per destination').not.toBe(pub);
      } else {
        expect(nc.mapping).toBe('endpoint-independent');
        expect(alt).toBe(pub);
        expect(Number(pub.split(':')[1]), 'port kept').toBe(localPort);
      }
    });
  });

  // ---- the four paths ------------------------------------------------------------------------------

  describe('paths: ping both ways, pilotctl peers and the console API agree, a stream arrives byte-exact', () => {
    it.each(PAIRS)('$what: $pathX', async (p) => {
      const { x, y } = p;
      // x dials first (for the NAT → public case that is the NATed side dialing out).
      const px = await cliPing(x, y, 3, '20s');
      expect(px.stats.received).toBe(3);
      expect(px.path, `pilotctl ping on ${x}: path`).toBe(p.pathX);
      if (p.pathX === 'relay') {
        // The dialer's own trace of the dial says why it fell back to the relay (issue 12).
        const spans = await fleet.node(x).ipc.call('traces.list', { limit: 10_000 });
        const establish = spans.filter((s) => s.name === 'tunnel.establish' && s.attrs['peer.node_id'] === fleet.node(y).nodeId);
        const relay = spans.find((s) => s.name === 'relay' && establish.some((e) => e.traceId === s.traceId));
        expect(relay, `${x}'s dial trace to ${y} has a relay span`).toBeDefined();
        expect(String(relay!.attrs['relay.reason'] ?? '')).not.toBe('');
      }
      const py = await cliPing(y, x, 3, '20s');
      expect(py.stats.received).toBe(3);
      expect(py.path, `pilotctl ping on ${y}: path`).toBe(p.pathY);
      await expectPath(x, y, p.pathX);
      await expectPath(y, x, p.pathY);

      // Direct and punched peers talk to the address the internet sees for the other side.
      const vx = await fleet.apiPeer(x, y);
      if (p.pathX !== 'relay') expect(vx?.endpoint?.split(':')[0]).toBe(lab.host(y).publicIp);

      const before = await relayed(x, y);
      const r = await fleet.transfer(x, y, 4 * MB, { timeoutMs: 60_000 });
      expectByteExact(r, `${x} → ${y}`);
      const after = await relayed(x, y);
      if (p.pathX === 'relay') {
        // Every data frame went through the beacon (4 MB is at least 1024 frames of ≤ 4 KiB).
        expect(after.out - before.out).toBeGreaterThanOrEqual(1024);
      } else {
        // Punched means direct afterwards: nothing of the transfer went through the beacon.
        expect(after.out - before.out, `frames ${x} relayed during the transfer`).toBe(0);
        expect(after.in - before.in, `frames ${x} got relayed during the transfer`).toBe(0);
      }
      await expectPath(x, y, p.pathX);
      await expectPath(y, x, p.pathY);
    }, 90_000);
  });

  // ---- random loss -----------------------------------------------------------------------------

  // Tunnels are set up on a clean network first; then the dialer's link drops a fraction of all
  // packets (both directions). The path must stay what it was (no path change at all), pings must
  // get through both ways, and 20 MB must arrive byte-exact on one stream. All eight runs go at once.
  describe('random loss on the dialer\'s link (5 % and 20 %)', () => {
    // iptables changes one at a time (several runs share a router namespace).
    let rules: Promise<unknown> = Promise.resolve();
    const serial = <T>(fn: () => Promise<T>): Promise<T> => {
      const next = rules.then(fn, fn);
      rules = next.catch(() => undefined);
      return next;
    };

    it.concurrent.for(LOSS_RUNS)('$loss loss, $what ($x → $y): same path, ping both ways, 20 MB byte-exact', { timeout: LOSS_TRANSFER_MS + 60_000 }, async (p, { expect: ex }) => {
      const { x, y, loss } = p;
      // A clean tunnel first (the 5 % pairs have one from the path cases).
      const first = await fleet.node(x).ipc.call('peers.ping', { target: String(fleet.node(y).nodeId), count: 2, timeoutMs: 20_000 });
      ex(first.stats.received, `${x} → ${y} before the loss`).toBeGreaterThan(0);
      await vi.waitFor(async () => ex((await fleet.apiPeer(y, x))?.path, `${y} to see ${x}`).toBe(p.pathY), { timeout: 10_000, interval: 100 });
      ex((await fleet.apiPeer(x, y))?.path).toBe(p.pathX);
      const changesBefore = [(await fleet.inspect(x, y)).pathChanges, (await fleet.inspect(y, x)).pathChanges];

      await serial(() => lab.addLoss(x, loss));
      try {
        const [r, px, py] = await Promise.all([
          fleet.transfer(x, y, 20 * MB, { timeoutMs: LOSS_TRANSFER_MS }),
          // A lost echo costs the ping its 5 s reply timeout: ask for enough to get some through.
          fleet.pilotctl(x, ['ping', String(fleet.node(y).nodeId), '--count', '6', '--timeout', '25s']),
          fleet.pilotctl(y, ['ping', String(fleet.node(x).nodeId), '--count', '6', '--timeout', '25s']),
        ]);
        const drops = await lab.lossDrops(x);
        let msg = `${x} → ${y} with ${loss * 100} % loss on ${x}'s link (${drops} packets dropped by the rule): ${describeTransfer(r)}`;
        if (r.recvBytes !== r.bytes || r.recvSha !== r.sentSha) msg += `; IP reassembly at ${y}: ${await fleet.fragStats(y)}`;
        ex(r.error, msg).toBeUndefined();
        ex(r.recvBytes, msg).toBe(r.bytes);
        ex(r.recvSha, msg).toBe(r.sentSha);
        ex(r.accepted, 'one stream from start to end').toBe(1);
        console.info(`${loss * 100} % loss, ${x} → ${y}: ${describeTransfer(r)}`);
        for (const [who, res, path] of [[x, px, p.pathX], [y, py, p.pathY]] as const) {
          ex(res.code, `pilotctl ping on ${who} under loss: ${res.stderr || res.stdout}`).toBe(0);
          const data = res.json?.data as { path: PathKind; stats: { received: number } };
          ex(data.stats.received).toBeGreaterThanOrEqual(1);
          ex(data.path, `pilotctl ping on ${who} under loss: path`).toBe(path);
        }
        for (const [from, to, path] of [[x, y, p.pathX], [y, x, p.pathY]] as const) {
          const v = await views(from, to);
          ex(v.cli?.path, `pilotctl peers --json on ${from} under loss`).toBe(path);
          ex(v.api?.path, `console API peers.list on ${from} under loss`).toBe(path);
        }
        const changesAfter = [(await fleet.inspect(x, y)).pathChanges, (await fleet.inspect(y, x)).pathChanges];
        ex(changesAfter, 'path changes during the loss run (x, y)').toEqual(changesBefore);
      } finally {
        await serial(() => lab.removeLoss(x));
      }
    });
  });

  // ---- relay → direct upgrade ------------------------------------------------------------------------

  describe('relay first, then both NATs become port-keeping', () => {
    it('the nodes upgrade to a punched direct path without dropping the stream', async () => {
      const { x, y } = PAIRS[3] as Pair; // c → d: relayed so far
      // The relay tunnel from the path case (re-established here if that case did not run).
      const px = await cliPing(x, y, 1, '20s');
      expect(px.path).toBe('relay');
      await vi.waitFor(async () => expect((await fleet.apiPeer(y, x))?.path, `${y} to relay to ${x}`).toBe('relay'), { timeout: 15_000, interval: 100 });

      let upgradedAt = 0;
      let relayedAtUpgrade = { out: 0, in: 0 };
      const r = await fleet.transfer(x, y, Infinity, {
        timeoutMs: 90_000,
        during: async (progress) => {
          await vi.waitFor(() => expect(progress.received, '2 MB to arrive over the relay').toBeGreaterThanOrEqual(2 * MB), { timeout: 30_000, interval: 100 });
          // Both routers switch to port-keeping NAT and forget their mappings (conntrack flushed).
          await Promise.all([lab.setNat('rc', 'masquerade'), lab.setNat('rd', 'masquerade')]);
          const switchedAt = Date.now();
          const beforeUpgrade = progress.received;
          // Both ends punched (data keeps flowing meanwhile).
          await vi.waitFor(
            async () => expect([(await fleet.apiPeer(x, y))?.path, (await fleet.apiPeer(y, x))?.path], `${x} and ${y} upgraded from relay to punched`).toEqual(['punched', 'punched']),
            { timeout: 40_000, interval: 100 },
          );
          upgradedAt = Date.now() - switchedAt;
          console.info(`relay → punched ${upgradedAt} ms after the NAT change; ${((progress.received - beforeUpgrade) / MB).toFixed(1)} MB arrived meanwhile`);
          relayedAtUpgrade = await relayed(x, y);
          // Keep the same stream going for 4 MB more, now over the direct path.
          progress.limit = progress.written + 4 * MB;
        },
      });
      expectByteExact(r, `${x} → ${y} across the upgrade`);
      expect(upgradedAt).toBeGreaterThan(0);
      const after = await relayed(x, y);
      // After the upgrade the data went direct: at most a few frames in flight at the switch were relayed.
      expect(after.out - relayedAtUpgrade.out, `frames ${x} relayed after the upgrade`).toBeLessThan(64);
      await expectPath(x, y, 'punched');
      await expectPath(y, x, 'punched');
      const [a, b] = await Promise.all([cliPing(x, y, 2, '20s'), cliPing(y, x, 2, '20s')]);
      expect([a.path, b.path]).toEqual(['punched', 'punched']);
      // And the nodes see their new NAT.
      // MASQUERADE keeps the source port only while that port is free on the router; right after the
      // switch an old mapping may still hold it, so the NAT can show up as a cone (endpoint-
      // independent, new port) instead: either way no longer symmetric, which is what punching needs.
      const nc = await fleet.netcheckApi(x);
      expect(nc.mapping).toBe('endpoint-independent');
      expect(['port-preserving', 'cone']).toContain(nc.natType);
    }, 150_000);
  });
});
