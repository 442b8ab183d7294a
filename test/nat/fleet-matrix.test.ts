// Issue 13 in the NAT lab: the console API's path matrix (fleet.matrix, asked of one node through its
// daemon's IPC extension, as the console asks it) shows the four topologies as the lab expects:
//
//   beacon  public: the backbone
//   k       public: the "console" node, trusted by every member (so it may read their peer tables
//           over the fleet query, port 1011, and ask them for probes)
//   p1 → p2 public → public                         direct
//   e → p2  behind re (MASQUERADE) → public         direct
//   a → b   behind ra, rb (MASQUERADE, port-keeping) punched
//   c → d   behind rc, rd (MASQUERADE --random)      relay
//
// Each pair's tunnel is made by a `pilotctl ping` inside the dialler's namespace. Run with
// `npm run test:nat` (root, ip, iptables); without them the suite is skipped with the reason.

import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { Lab, checkPreconditions } from './lab';
import { PilotFleet } from './pilot-tools';
import type { FleetMatrixView, FleetPath } from '../../shared/contract';

const pre = await checkPreconditions();
if (!pre.ok && process.env['CI']) {
  describe('fleet matrix NAT lab preconditions', () => {
    it('has root, ip and iptables (required because CI is set)', () => {
      throw new Error(`fleet matrix NAT lab cannot run: ${pre.reason}`);
    });
  });
}

const CASES: { what: string; x: string; y: string; path: FleetPath }[] = [
  { what: 'public ↔ public', x: 'p1', y: 'p2', path: 'direct' },
  { what: 'port-keeping NAT → public', x: 'e', y: 'p2', path: 'direct' },
  { what: 'port-keeping NAT ↔ port-keeping NAT', x: 'a', y: 'b', path: 'punched' },
  { what: 'random NAT ↔ random NAT', x: 'c', y: 'd', path: 'relay' },
];
const MEMBERS = ['p1', 'p2', 'e', 'a', 'b', 'c', 'd'];

describe.runIf(pre.ok)(pre.ok ? 'fleet matrix in the NAT lab (issue 13)' : `fleet matrix in the NAT lab (skipped: ${pre.reason})`, () => {
  const lab = new Lab();
  let fleet: PilotFleet;

  beforeAll(async () => {
    await lab.setup({
      routers: { re: { nat: 'masquerade' }, ra: { nat: 'masquerade' }, rb: { nat: 'masquerade' }, rc: { nat: 'random' }, rd: { nat: 'random' } },
      hosts: { beacon: {}, k: {}, p1: {}, p2: {}, e: { behind: 're' }, a: { behind: 'ra' }, b: { behind: 'rb' }, c: { behind: 'rc' }, d: { behind: 'rd' } },
    });
    fleet = new PilotFleet(lab);
    await fleet.startBackbone('beacon');
    await Promise.all(['k', ...MEMBERS].map((n) => fleet.startNode(n)));
    // Every member trusts the console node k.
    const k = fleet.node('k');
    for (const m of MEMBERS) {
      const member = fleet.node(m);
      await k.ipc.call('trust.request', { target: String(member.nodeId), justification: 'fleet matrix' });
      await vi.waitFor(async () => expect((await member.ipc.call('trust.pending', {})).map((p) => p.nodeId)).toContain(k.nodeId), { timeout: 30_000, interval: 200 });
      await member.ipc.call('trust.approve', { nodeId: k.nodeId });
    }
    // The four cases' tunnels.
    for (const c of CASES) {
      const r = await fleet.pilotctl(c.x, ['ping', String(fleet.node(c.y).nodeId), '--count', '3', '--timeout', '20s']);
      expect(r.code, `pilotctl ping ${c.y} on ${c.x}: ${r.stderr || r.stdout}`).toBe(0);
    }
  }, 240_000);

  afterAll(async () => {
    await fleet?.close();
    await lab.teardown();
  });

  it('the matrix shows direct / punched / relay for the four topologies, every member answering', async () => {
    const k = fleet.node('k');
    let m: FleetMatrixView | undefined;
    const pathOf = (x: string, y: string): FleetPath | undefined => {
      const a = Math.min(fleet.node(x).nodeId, fleet.node(y).nodeId);
      const b = Math.max(fleet.node(x).nodeId, fleet.node(y).nodeId);
      return m?.pairs.find((p) => p.a === a && p.b === b)?.path;
    };
    // A settled path: the relayed pair's ends may still be establishing on the first sweep.
    await vi.waitFor(
      async () => {
        m = await k.ipc.call('fleet.matrix', { refresh: true });
        for (const c of CASES) expect(pathOf(c.x, c.y), `${c.what}: ${c.x} ↔ ${c.y}`).toBe(c.path);
      },
      { timeout: 60_000, interval: 1000 },
    );
    expect(m!.members.filter((x) => MEMBERS.includes(x.hostname?.replace(/^node-/, '') ?? '')).every((x) => x.answered)).toBe(true);
    // Pairs that never talked have no tunnel (both ends answered).
    expect(pathOf('p1', 'd')).toBe('none');
    // The members behind NAT report it: a random NAT is symmetric.
    expect(m!.members.find((x) => x.nodeId === fleet.node('c').nodeId)?.natType).toBe('symmetric');
    expect(m!.census.counts.punched).toBeGreaterThanOrEqual(1);
    expect(m!.census.counts.relay).toBeGreaterThanOrEqual(1);
  });

  it('why this path: a → b tells of the punch that made it and the endpoint that answered; c → d of the relay, its reason, the endpoint that never answered, and no upgrade behind a symmetric NAT', async () => {
    const ab = await fleet.node('a').ipc.call('fleet.why', { nodeId: fleet.node('b').nodeId });
    expect(ab.path).toBe('punched');
    expect(ab.localNat).toBe('port-preserving');
    const stages = ab.steps.map((s) => s.stage);
    expect(stages).toEqual(expect.arrayContaining(['nat', 'establish', 'punch', 'established', 'now']));
    expect(ab.steps.find((s) => s.stage === 'established')?.title).toBe('Established: punched');

    const cd = await fleet.node('c').ipc.call('fleet.why', { nodeId: fleet.node('d').nodeId });
    expect(cd.path).toBe('relay');
    expect(cd.localNat).toBe('symmetric');
    const relay = cd.steps.find((s) => s.stage === 'relay');
    expect(relay?.detail).toMatch(/^(no_direct_answer|no_endpoint): /);
    expect(cd.steps.find((s) => s.stage === 'no_upgrade')?.detail).toContain('symmetric NAT');
    // The endpoints each dial tried: b's registered endpoint (rb's port-keeping mapping), named again by
    // the beacon's punch command, answered; d's (rd's mappings, useless to c behind a random NAT) never did.
    const abTried = ab.steps.find((s) => s.stage === 'endpoints');
    expect(abTried).toMatchObject({ title: 'Endpoints tried: 1', status: 'ok' });
    expect(abTried?.detail).toMatch(/^203\.0\.113\.\d+:\d+: the registered endpoint \(from the registry\), tried at \d+ ms; named again by the beacon's punch command at \d+ ms; answered, the tunnel up \d+ ms later$/);
    const cdTried = cd.steps.find((s) => s.stage === 'endpoints');
    // (the beacon's punch command names d's mapping toward the beacon: the registered one, or a new one)
    expect(cdTried).toMatchObject({ title: expect.stringMatching(/^Endpoints tried: [12], none answered$/), status: 'info' });
    expect(cdTried?.detail).toMatch(/^[\d.]+:\d+: the registered endpoint \(from the registry\), tried at \d+ ms; [^\n]*no answer from it\n/);
    expect(cdTried?.detail).toMatch(/\nnone answered directly: the beacon relays the tunnel$/);
  });

  it('a probe from a to b (punched) returns RTTs over the punched path', async () => {
    const k = fleet.node('k');
    const r = await k.ipc.call('fleet.probe', { from: fleet.node('a').nodeId, to: fleet.node('b').nodeId, count: 3 });
    expect(r.stats.received).toBe(3);
    expect(r.path).toBe('punched');
  });

  it('a traceroute from c to d (relayed) goes through the beacon relay; from a to b (punched) straight to b', async () => {
    const k = fleet.node('k');
    const cd = await k.ipc.call('fleet.probe', { from: fleet.node('c').nodeId, to: fleet.node('d').nodeId, mode: 'traceroute' });
    expect(cd).toMatchObject({ path: 'relay', errors: [], stats: { sent: 3, received: 3 } });
    expect(cd.traceroute?.hops.map((h) => h.kind)).toEqual(['relay', 'peer']);
    expect(cd.traceroute?.hops[0]?.endpoint).toMatch(/^203\.0\.113\.\d+:\d+$/);
    expect(cd.traceroute?.hops[1]).toMatchObject({ kind: 'peer', nodeId: fleet.node('d').nodeId });
    const ab = await k.ipc.call('fleet.probe', { from: fleet.node('a').nodeId, to: fleet.node('b').nodeId, mode: 'traceroute' });
    expect(ab).toMatchObject({ path: 'punched', errors: [], stats: { sent: 3, received: 3 } });
    expect(ab.traceroute?.tunnelWasUp).toBe(true);
    expect(ab.traceroute?.hops).toEqual([{ kind: 'peer', nodeId: fleet.node('b').nodeId, endpoint: expect.stringMatching(/^203\.0\.113\.\d+:\d+$/) }]);
  });

  it('history: when rc and rd turn port-keeping, c ↔ d upgrades from relay to punched; the pair history records the change and why tells of the upgrade', async () => {
    const k = fleet.node('k');
    const c = fleet.node('c').nodeId;
    const d = fleet.node('d').nodeId;
    const [lo, hi] = c < d ? [c, d] : [d, c];
    await Promise.all([lab.setNat('rc', 'masquerade'), lab.setNat('rd', 'masquerade')]);
    // Traffic keeps flowing (probes from c, which trusts k) while the console's node sweeps.
    await vi.waitFor(
      async () => {
        await k.ipc.call('fleet.probe', { from: c, to: d, count: 2 }).catch(() => undefined);
        const m = await k.ipc.call('fleet.matrix', { refresh: true });
        expect(m.pairs.find((p) => p.a === lo && p.b === hi)?.path).toBe('punched');
      },
      { timeout: 60_000, interval: 500 },
    );
    const h = await k.ipc.call('fleet.history', { a: c, b: d });
    expect(h.changes.map((x) => `${x.from}→${x.to}`)).toContain('relay→punched');
    expect(h.samples[0]?.path).toBe('relay');
    // The story of the upgrade is told by the side that dialled (and fell back to the relay): c or d,
    // whichever established the tunnel first in this run.
    const whyC = await fleet.node('c').ipc.call('fleet.why', { nodeId: d });
    const whyD = await fleet.node('d').ipc.call('fleet.why', { nodeId: c });
    expect([whyC.path, whyD.path]).toEqual(['punched', 'punched']);
    const upgrades = [whyC, whyD].map((w) => w.steps.find((s) => s.stage === 'upgrade')?.title);
    expect(upgrades).toContain('Upgraded to punched');
  }, 90_000);
});
