// The NAT lab proves its topologies behave like the NATs they claim to be, with real packets from
// plain UDP programs (udp-agent.ts). Run with `npm run test:nat` (vitest.nat.config.ts). Needs root,
// `ip` and `iptables`; without them it says why and is skipped — or fails when CI is set.

import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Lab, LabProcess, TSX_LOADER, checkPreconditions, listNamespaces, sweepLeftovers } from './lab';
import { Peer, Reflector } from './udp-tools';

const pre = await checkPreconditions();
const inCI = Boolean(process.env['CI']);

if (!pre.ok) {
  const msg = `NAT lab cannot run here: ${pre.reason}`;
  console.warn(msg);
  if (inCI) {
    describe('NAT lab preconditions', () => {
      it('has root, ip and iptables with NAT in a namespace (required because CI is set)', () => {
        throw new Error(`${msg} — CI is set, so this is a failure, not a skip`);
      });
    });
  }
}

const FIXTURE = fileURLToPath(new URL('./lab-crash-fixture.ts', import.meta.url));
const REFLECTOR_PORTS = [3478, 3479];
const PEER_PORT = 4000;

/** The host's own firewall, which the lab must never touch. */
function hostRules(): string {
  const dump = (t: string): string => execFileSync('iptables', ['-t', t, '-S'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  return ['filter', 'nat', 'raw', 'mangle'].map(dump).join('\n');
}

/** Gone or a zombie (a zombie's parent may not be around to reap it). */
function processGone(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

async function ours(prefix: string): Promise<string[]> {
  return (await listNamespaces()).filter((n) => n.startsWith(prefix));
}

// Without the preconditions (and CI unset) the suite is reported skipped, under a name that says why.
describe.runIf(pre.ok)(pre.ok ? 'NAT lab' : `NAT lab (skipped: ${pre.reason})`, () => {
  const lab = new Lab();
  let rulesBefore = '';
  let refl: Reflector;
  const peers: Record<string, Peer> = {};
  const peer = (name: string): Peer => {
    const p = peers[name];
    if (!p) throw new Error(`no peer ${name}`);
    return p;
  };

  beforeAll(async () => {
    if (pre.ok) console.info(`NAT lab: iptables backend ${pre.backend}, conntrack tool ${pre.conntrack ? 'present' : 'absent (zone reset)'}`);
    rulesBefore = hostRules();
    await lab.setup({
      routers: {
        ra: { nat: 'masquerade' },
        rb: { nat: 'masquerade' },
        rc: { nat: 'random' },
        rd: { nat: 'random' },
        re: { nat: 'random' },
      },
      hosts: {
        beacon: {},
        p1: {},
        p2: {},
        a: { behind: 'ra' },
        b: { behind: 'rb' },
        c: { behind: 'rc' },
        d: { behind: 'rd' },
        e: { behind: 're' },
      },
    });
    const names = ['p1', 'p2', 'a', 'b', 'c', 'd', 'e'];
    const [r, ...ps] = await Promise.all([Reflector.start(lab, 'beacon', REFLECTOR_PORTS), ...names.map((n) => Peer.start(lab, n, PEER_PORT))]);
    refl = r;
    ps.forEach((p, i) => (peers[names[i] as string] = p));
  }, 60_000);

  afterAll(async () => {
    await lab.teardown();
  });

  describe('topology', () => {
    it('names every namespace pf-<pid>-<lab>-<node> and uses documentation ranges only', async () => {
      expect(lab.prefix).toMatch(new RegExp(`^pf-${process.pid}-\\d+-$`));
      expect((await ours(lab.prefix)).sort()).toEqual(
        ['inet', 'ra', 'rb', 'rc', 'rd', 're', 'beacon', 'p1', 'p2', 'a', 'b', 'c', 'd', 'e'].map((n) => lab.prefix + n).sort(),
      );
      const doc = /^(203\.0\.113|198\.51\.100|192\.0\.2)\.\d+$/;
      for (const h of ['beacon', 'p1', 'p2', 'a', 'b', 'c', 'd', 'e']) {
        expect(lab.host(h).ip).toMatch(doc);
        expect(lab.host(h).publicIp).toMatch(/^203\.0\.113\.\d+$/);
      }
      expect(lab.host('a').publicIp).toBe(lab.router('ra').wanIp);
      expect(lab.host('a').ip).toMatch(/^198\.51\.100\./);
      expect(lab.host('b').ip).toMatch(/^192\.0\.2\./);
    });

    it('never links a lab namespace to the host namespace: every veth peer is inside the lab', async () => {
      // `ip -d link` shows `link-netns <name>` for a veth whose peer is in another named namespace;
      // a peer in the host namespace would have no name to show. Every veth must name a lab namespace.
      for (const ns of await ours(lab.prefix)) {
        const out = execFileSync('ip', ['-n', ns, '-o', '-d', 'link', 'show', 'type', 'veth']).toString();
        for (const line of out.split('\n').filter((l) => l.trim())) {
          expect(line).toMatch(new RegExp(`link-netns ${lab.prefix}`));
        }
      }
      const hostVeths = execFileSync('ip', ['-o', '-d', 'link', 'show', 'type', 'veth']).toString();
      expect(hostVeths).not.toContain(lab.prefix);
    });

    it('a public host sees its own address reflected', async () => {
      const seen = await peer('p1').discover(refl.addr(0));
      expect(seen).toEqual({ ip: lab.host('p1').ip, port: PEER_PORT });
    });

    it('two public hosts reach each other directly, both ways', async () => {
      const r1 = await peer('p1').ok({ op: 'connect', name: 'p1', to: `${lab.host('p2').ip}:${PEER_PORT}` });
      expect({ ip: r1.ip, port: r1.port }).toEqual({ ip: lab.host('p2').ip, port: PEER_PORT });
      const r2 = await peer('p2').ok({ op: 'connect', name: 'p2', to: `${lab.host('p1').ip}:${PEER_PORT}` });
      expect({ ip: r2.ip, port: r2.port }).toEqual({ ip: lab.host('p1').ip, port: PEER_PORT });
    });
  });

  describe('port-keeping NAT (MASQUERADE)', () => {
    it('the reflector sees the router public address and the same source port, from any destination', async () => {
      const wan = lab.router('ra').wanIp;
      expect(await peer('a').discover(refl.addr(0))).toEqual({ ip: wan, port: PEER_PORT });
      expect(await peer('a').discover(refl.addr(1))).toEqual({ ip: wan, port: PEER_PORT });
    });

    it('drops unsolicited packets from outside, and lets the host dial out to a public host', async () => {
      const aPublic = `${lab.router('ra').wanIp}:${PEER_PORT}`;
      const inbound = await peer('p2').cmd({ op: 'connect', name: 'p2', to: aPublic, attempts: 10 });
      expect(inbound.ok).toBe(false);
      const out = await peer('a').ok({ op: 'connect', name: 'a', to: `${lab.host('p2').ip}:${PEER_PORT}` });
      expect(out.ip).toBe(lab.host('p2').ip);
      // Now that a has sent to p2, p2's packets come back through the mapping.
      expect((await peer('p2').cmd({ op: 'connect', name: 'p2', to: aPublic })).ok).toBe(true);
    });

    it('two hosts behind port-keeping NATs hole-punch through a reflector-coordinated simultaneous exchange', async () => {
      const server = refl.addr(0);
      const [ra, rb] = await Promise.all([
        peer('a').ok({ op: 'register', server, name: 'a' }),
        peer('b').ok({ op: 'register', server, name: 'b' }),
      ]);
      expect(ra.port).toBe(PEER_PORT);
      expect(rb.port).toBe(PEER_PORT);
      const [pa, pb] = await Promise.all([
        peer('a').cmd({ op: 'punch', server, name: 'a', target: 'b' }),
        peer('b').cmd({ op: 'punch', server, name: 'b', target: 'a' }),
      ]);
      expect(pa).toMatchObject({ ok: true, ip: lab.router('rb').wanIp, port: PEER_PORT });
      expect(pb).toMatchObject({ ok: true, ip: lab.router('ra').wanIp, port: PEER_PORT });
    });
  });

  describe('port-randomising NAT (MASQUERADE --random)', () => {
    it('two destinations see different source ports (endpoint-dependent mapping)', async () => {
      const s0 = await peer('c').discover(refl.addr(0));
      const s1 = await peer('c').discover(refl.addr(1));
      expect(s0.ip).toBe(lab.router('rc').wanIp);
      expect(s1.ip).toBe(lab.router('rc').wanIp);
      expect(s0.port).not.toBe(s1.port);
      // The mapping is kept per destination: asking the same destination again gives the same port.
      expect(await peer('c').discover(refl.addr(0))).toEqual(s0);
    });

    it('hole punching between two port-randomising NATs fails', async () => {
      const server = refl.addr(0);
      await Promise.all([peer('c').ok({ op: 'register', server, name: 'c' }), peer('d').ok({ op: 'register', server, name: 'd' })]);
      const [pc, pd] = await Promise.all([
        peer('c').cmd({ op: 'punch', server, name: 'c', target: 'd' }),
        peer('d').cmd({ op: 'punch', server, name: 'd', target: 'c' }),
      ]);
      expect(pc).toMatchObject({ ok: false });
      expect(pd).toMatchObject({ ok: false });
      // Both did get the other's endpoint: the exchange was coordinated, the NATs defeated it.
      expect((await peer('c').event('punch-to')).id).toBe('d');
      expect((await peer('d').event('punch-to')).id).toBe('c');
    });

    it('the reflector relays between them (the relay fallback path)', async () => {
      const r = await peer('c').ok({ op: 'relay', server: refl.addr(0), name: 'c', to: 'd', data: 'via-beacon' });
      expect(r.data).toBe('echo:via-beacon');
      expect(await peer('d').event('relayed')).toMatchObject({ from: 'c', data: 'via-beacon' });
    });

    it('a host behind it still dials out to a public host directly', async () => {
      const r = await peer('c').ok({ op: 'connect', name: 'c', to: `${lab.host('p1').ip}:${PEER_PORT}` });
      expect(r.ip).toBe(lab.host('p1').ip);
    });
  });

  describe('random loss on a link', () => {
    const N = 2_000;

    it('20 % on a public host link drops about a fifth of the packets, and the drop counter agrees', async () => {
      await lab.addLoss('p2', 0.2);
      const before = await lab.lossDrops('p2');
      const r = await peer('p2').ok({ op: 'probe', server: refl.addr(0), count: N }, 30_000);
      const lost = (r.sent ?? 0) - (r.received ?? 0);
      expect(r.sent).toBe(N);
      expect(lost / N).toBeGreaterThan(0.14);
      expect(lost / N).toBeLessThan(0.26);
      // Every lost probe was dropped by the rule (the rule also drops some count queries and answers).
      const drops = (await lab.lossDrops('p2')) - before;
      expect(drops).toBeGreaterThanOrEqual(lost);
      await lab.removeLoss('p2');
      expect(await peer('p2').discover(refl.addr(0))).toEqual({ ip: lab.host('p2').ip, port: PEER_PORT });
    });

    it('5 % on the LAN link behind a NAT router drops about a twentieth, and can be removed', async () => {
      await lab.addLoss('a', 0.05);
      const r = await peer('a').ok({ op: 'probe', server: refl.addr(1), count: N }, 30_000);
      const lost = (r.sent ?? 0) - (r.received ?? 0);
      expect(lost / N).toBeGreaterThan(0.02);
      expect(lost / N).toBeLessThan(0.09);
      expect(await lab.lossDrops('a')).toBeGreaterThanOrEqual(lost);
      await lab.addLoss('a', 0);
      const clean = await peer('a').ok({ op: 'probe', server: refl.addr(1), count: 500 }, 30_000);
      expect(clean.received).toBe(500);
    });
  });

  describe('changing a NAT at run time', () => {
    it('random → masquerade turns an endpoint-dependent mapping into a port-keeping one, and punching then works', async () => {
      const server = refl.addr(0);
      const e = peer('e');
      const wan = lab.router('re').wanIp;
      const before0 = await e.discover(refl.addr(0));
      const before1 = await e.discover(refl.addr(1));
      expect(before0.port).not.toBe(before1.port);
      // random ↔ port-keeping: the punch fails.
      await Promise.all([e.ok({ op: 'register', server, name: 'e' }), peer('a').ok({ op: 'register', server, name: 'a' })]);
      const failed = await Promise.all([
        e.cmd({ op: 'punch', server, name: 'e', target: 'a', attempts: 20 }),
        peer('a').cmd({ op: 'punch', server, name: 'a', target: 'e', attempts: 20 }),
      ]);
      expect(failed.map((r) => r.ok)).toEqual([false, false]);

      await lab.setNat('re', 'masquerade');
      expect(lab.router('re').nat).toBe('masquerade');
      expect(await e.discover(refl.addr(0))).toEqual({ ip: wan, port: PEER_PORT });
      expect(await e.discover(refl.addr(1))).toEqual({ ip: wan, port: PEER_PORT });
      await Promise.all([e.ok({ op: 'register', server, name: 'e' }), peer('a').ok({ op: 'register', server, name: 'a' })]);
      const [pe, pa] = await Promise.all([
        e.cmd({ op: 'punch', server, name: 'e', target: 'a' }),
        peer('a').cmd({ op: 'punch', server, name: 'a', target: 'e' }),
      ]);
      expect(pe).toMatchObject({ ok: true, ip: lab.router('ra').wanIp, port: PEER_PORT });
      expect(pa).toMatchObject({ ok: true, ip: wan, port: PEER_PORT });
    });

    it('the zone reset (no conntrack tool needed) forgets old mappings too; reset "none" keeps them', async () => {
      const e = peer('e');
      await lab.setNat('re', 'random', { reset: 'zone' });
      const r0 = await e.discover(refl.addr(0));
      const r1 = await e.discover(refl.addr(1));
      expect(r0.port).not.toBe(r1.port);
      // Without a reset the flows that exist keep their (random) mapping after the switch …
      await lab.setNat('re', 'masquerade', { reset: 'none' });
      expect(await e.discover(refl.addr(0))).toEqual(r0);
      // … and a reset makes the new NAT apply to them as well.
      await lab.setNat('re', 'masquerade', { reset: 'zone' });
      expect(await e.discover(refl.addr(0))).toEqual({ ip: lab.router('re').wanIp, port: PEER_PORT });
    });
  });

  describe('clean-up', () => {
    it('rejects a bad topology before creating anything', async () => {
      const bad = new Lab();
      await expect(bad.setup({ hosts: { a: { behind: 'nowhere' } } })).rejects.toThrow(/unknown router/);
      await expect(new Lab().setup({ hosts: { Bad_Name: {} } })).rejects.toThrow(/must match/);
      const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`h${i}`, { behind: 'r' }]));
      await expect(new Lab().setup({ routers: { r: { nat: 'masquerade' } }, hosts: many })).rejects.toThrow(/more than 16 hosts/);
      expect(await ours(bad.prefix)).toEqual([]);
    });

    it('the start-up sweep removes namespaces of dead runs (and their processes) but not live ones', async () => {
      // pid_max is at most 2^22, so this owner can never be alive.
      const stale = 'pf-99999999-1-old';
      execFileSync('ip', ['netns', 'add', stale]);
      const orphan = execFileSync('sh', ['-c', `ip netns exec ${stale} sleep 600 >/dev/null 2>&1 & echo $!`]).toString().trim();
      const removed = await sweepLeftovers();
      expect(removed).toContain(stale);
      expect(await listNamespaces()).not.toContain(stale);
      await vi.waitFor(() => expect(processGone(Number(orphan)), 'the orphan in the stale namespace to die').toBe(true), { timeout: 5_000 });
      expect(await ours(lab.prefix)).toHaveLength(14);
      expect(refl.proc.running).toBe(true);
    });

    it.each([
      ['an uncaught error', 'throw', undefined],
      ['SIGTERM', 'wait', 'SIGTERM'],
      ['SIGINT', 'wait', 'SIGINT'],
      ['SIGKILL (the reaper cleans up)', 'wait', 'SIGKILL'],
    ] as const)('a run that dies of %s leaves no namespace and no process behind', async (_what, mode, signal) => {
      // The fixture builds its own lab from an ordinary child process of this test.
      const fixture = new LabProcess(`fixture-${mode}`, spawn(process.execPath, ['--import', TSX_LOADER, FIXTURE, mode], { stdio: ['pipe', 'pipe', 'pipe'] }));
      try {
        const line = await fixture.waitForLine(/^READY /, 20_000);
        const info = JSON.parse(line.slice('READY '.length)) as { prefix: string; sleeper: number };
        expect(await ours(info.prefix)).toHaveLength(3);
        expect(processGone(info.sleeper)).toBe(false);
        if (signal) fixture.child.kill(signal);
        else fixture.write('throw now');
        await fixture.exited;
        await vi.waitFor(async () => expect(await ours(info.prefix), `${info.prefix}* to disappear`).toEqual([]), { timeout: 5_000 });
        await vi.waitFor(() => expect(processGone(info.sleeper), 'the process inside the lab to die').toBe(true), { timeout: 5_000 });
      } finally {
        await fixture.stop();
      }
    });

    it('teardown deletes every namespace (and so every rule), is idempotent, and the host firewall is untouched', async () => {
      const prefix = lab.prefix;
      expect(await ours(prefix)).toHaveLength(14);
      const procs = [refl.proc, ...Object.values(peers).map((p) => p.proc)];
      await lab.teardown();
      await lab.teardown();
      expect(await ours(prefix)).toEqual([]);
      expect((await listNamespaces()).filter((n) => n.startsWith(`pf-${process.pid}-`))).toEqual([]);
      expect(procs.every((p) => !p.running)).toBe(true);
      expect(hostRules()).toBe(rulesBefore);
    });
  });
});
