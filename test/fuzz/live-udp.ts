/**
 * Live datagram fuzzing of a running daemon's UDP tunnel socket. Each datagram is drawn from one of
 * these families (`KINDS`), deterministically from a seed:
 * random bytes; a PIL? magic or a beacon type byte with random bytes after it; mutated test vectors;
 * correctly signed PILA frames from a registered attacker with hostile fields (the 7 low-order X25519
 * points, fresh valid keys, sender ids 0 / 0xffffffff / the victim's / the friend's / unregistered);
 * mutated signed PILA; PILS for sessions that do not exist (and under the friend's id); PILK; PILT
 * with well-formed packets; beacon messages from a non-beacon source (discover_reply, punch_command
 * to arbitrary endpoints, relay, relay_deliver wrapping signed frames, sync with hostile counts);
 * and PILS frames correctly sealed by a peer that did a real key exchange, carrying hostile packets
 * (SYNs and data with hostile service/event frames at the service ports, hostile SACK blocks,
 * datagrams, control packets, spoofed inner source addresses, inner packets with a bad CRC).
 *
 * Flow control: the sender keeps at most `window` datagrams ahead of the daemon's own receive count
 * (node.info traffic.pktsRecv), so datagrams are processed rather than lost in the kernel's socket
 * buffer; whatever was still lost is reported (`delivered`). Every `pingEvery` datagrams the friend
 * pings the victim, and that ping must succeed.
 */
import dgram from 'node:dgram';
import { encodeBeacon } from '../../main/wire/beacon';
import { encodePacket } from '../../main/wire/packet';
import { encodePILA, encodePILK, encodePILS, encodePILT, MAGIC_PILA, MAGIC_PILK, MAGIC_PILP, MAGIC_PILS, MAGIC_PILT } from '../../main/wire/tunnel';
import { signPila, getCrypto } from '../../main/crypto';
import { mulberry32 } from '../../main/util/random';
import { mutateRandomly, vectorSeeds } from './mutate';
import { alive, diffCounts, rssKb, victimInfo, type Fleet } from './live-fleet';
import { LOW_ORDER_X25519_HEX } from '../../main/wire/testkit';

/** The small-order points of Curve25519 (and their non-canonical encodings): every one gives a zero shared secret. */
export const LOW_ORDER_X25519: readonly Uint8Array[] = LOW_ORDER_X25519_HEX.map((h) => Uint8Array.from(Buffer.from(h, 'hex')));

export const KINDS = [
  'random',
  'magic_random',
  'beacon_random',
  'vector_mutated',
  'pila_signed_hostile',
  'pila_signed_mutated',
  'pils_unknown_session',
  'pilk',
  'pilt_packet',
  'beacon_spoofed',
  'pils_sealed_hostile',
] as const;
export type DatagramFamily = (typeof KINDS)[number];

export interface UdpFuzzResult {
  sent: number;
  byFamily: Record<string, number>;
  /** Datagrams the daemon read off its socket during the run (its pktsRecv delta, pings included). */
  delivered: number;
  /**
   * The first half of the run, one family at a time: what the daemon's counters say about each
   * (`notDropped`: read without a drop being counted — accepted, or ignored without a counter).
   */
  perFamily: Partial<Record<DatagramFamily, { sent: number; drops: Record<string, number>; notDropped: number }>>;
  /** The daemon's drop counters, after − before, by reason. */
  drops: Record<string, number>;
  pings: { ok: number; failed: number; errors: string[] };
  rssKb: { before?: number; after?: number; max?: number };
  /** [datagrams sent, daemon VmRSS kB] at each ping: flat at the end means bounded. */
  rssSamples: [number, number][];
  alive: boolean;
  durationMs: number;
}

/** Builds datagrams for one fleet; `next()` returns [family, bytes]. */
export function datagramSource(f: Pick<Fleet, 'attacker' | 'friend' | 'victimId' | 'eve' | 'seal'>, seed: number): (family?: DatagramFamily) => [DatagramFamily, Uint8Array] {
  const rand = mulberry32(seed);
  const int = (n: number): number => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const bytes = (n: number): Uint8Array => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const r = (rand() * 4294967296) >>> 0;
      b[i] = r;
      if (i + 1 < n) b[i + 1] = r >>> 8;
      if (i + 2 < n) b[i + 2] = r >>> 16;
      if (i + 3 < n) b[i + 3] = r >>> 24;
    }
    return b;
  };
  const seeds = [...vectorSeeds().values()];
  const crypto = getCrypto();
  const att = f.attacker;
  const ids = [0, 1, 2, 0xffffffff, 0x7fffffff, f.victimId, f.friend.nodeId, att.nodeId, att.nodeId + 1000];
  const hostileId = (): number => (rand() < 0.8 ? pick(ids) : (rand() * 4294967296) >>> 0);
  // Correctly signed PILA frames (signing is costly: a pool, reused; a replay is one more hostile case).
  const signed: Uint8Array[] = [];
  const sign = (sender: number, x: Uint8Array): Uint8Array => encodePILA({ sender, x25519Public: x, ed25519Public: att.identity.publicKey, signature: signPila(att.identity, sender, x) });
  for (const x of LOW_ORDER_X25519) signed.push(sign(att.nodeId, x));
  for (let i = 0; i < 16; i++) signed.push(sign(att.nodeId, crypto.x25519Generate().publicKey));
  for (const id of ids) if (id !== att.nodeId) signed.push(sign(id, crypto.x25519Generate().publicKey), sign(id, pick(LOW_ORDER_X25519)));
  const magics = [MAGIC_PILT, MAGIC_PILS, MAGIC_PILK, MAGIC_PILA, MAGIC_PILP];
  const withMagic = (m: number, tail: Uint8Array): Uint8Array => {
    const b = new Uint8Array(4 + tail.length);
    new DataView(b.buffer).setUint32(0, m);
    b.set(tail, 4);
    return b;
  };
  const port = (): number => (rand() < 0.25 ? pick([0, 1, 7, 53, 9000, 9001, 0xffff]) : int(0x10000));
  const ip = (): string => (rand() < 0.8 ? `${int(256)}.${int(256)}.${int(256)}.${int(256)}` : pick(['::', '::1', 'fe80::1', '2001:db8::7', '::ffff:127.0.0.1']));
  const packet = (): Uint8Array =>
    encodePacket({
      flags: int(16),
      protocol: pick([1, 2, 3, int(256)]),
      src: { network: pick([0, 0, 1, 0xffff]), node: hostileId() },
      dst: { network: 0, node: rand() < 0.7 ? f.victimId : hostileId() },
      srcPort: int(0x10000),
      dstPort: pick([0, 7, 444, 1000, 1001, 1002, 1003, int(0x10000)]),
      seq: (rand() * 4294967296) >>> 0,
      ack: (rand() * 4294967296) >>> 0,
      window: int(0x10000),
      payload: bytes(int(200)),
    });
  const pils = (): Uint8Array => encodePILS(hostileId(), bytes(12), bytes(16 + int(600)));
  const beaconSpoof = (): Uint8Array => {
    switch (int(7)) {
      case 0:
        return encodeBeacon({ type: 'discover_reply', ip: ip(), port: port() });
      case 1:
        return encodeBeacon({ type: 'punch_command', ip: ip(), port: port() });
      case 2:
        return encodeBeacon({ type: 'relay', sender: hostileId(), dest: hostileId(), frame: rand() < 0.5 ? pick(signed) : pils() });
      case 3:
        return encodeBeacon({ type: 'relay_deliver', sender: hostileId(), frame: rand() < 0.5 ? pick(signed) : pils() });
      case 4: {
        const b = encodeBeacon({ type: 'sync', beaconId: hostileId(), nodeIds: Array.from({ length: int(20) }, hostileId) });
        if (rand() < 0.5) b[5] = b[6] = 0xff; // count 65535, list far shorter
        return b;
      }
      case 5:
        return encodeBeacon({ type: 'discover', nodeId: hostileId() });
      default:
        return encodeBeacon({ type: 'punch_request', requester: hostileId(), target: hostileId() });
    }
  };
  const eveAddr = f.eve.address!;
  const victimAddr = { network: 0, node: f.victimId };
  const servicePort = (): number => pick([7, 444, 1000, 1001, 1002, 1003, int(0x10000)]);
  const u32be = (n: number): number[] => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  const hostileServicePayload = (kind = int(5)): Uint8Array => {
    switch (kind) {
      case 0: // type ‖ length claiming up to 4 GiB ‖ a few bytes
        return Uint8Array.from([...u32be(int(5)), ...u32be(pick([0xffffffff, 0x01000001, 0x7fffffff, 100_000])), ...bytes(int(64))]);
      case 1: // event: topic length 0xffff / 1025, payload length huge
        return Uint8Array.from([0xff, 0xff, ...bytes(int(64))]);
      case 2:
        return Uint8Array.from([0x04, 0x01, ...bytes(4), ...u32be(0xffffffff), ...bytes(int(32))]);
      case 3: // task submit JSON that is not JSON
        return Uint8Array.from([...u32be(1), ...u32be(20), ...new TextEncoder().encode('{"task": [[[[[[[[[[')]);
      default:
        return bytes(int(300));
    }
  };
  const sack = (): Uint8Array => {
    const n = pick([1, 2, 3, 4, 5, 0, 255]);
    const b = Uint8Array.from([0x53, 0x41, 0x43, 0x4b, n]);
    const blocks = Array.from({ length: Math.min(n, 4) }, () => [...u32be(pick([0, 1, 0xffffffff, 0x80000000, (rand() * 4294967296) >>> 0])), ...u32be(pick([0, 1, 0xffffffff, (rand() * 4294967296) >>> 0]))]).flat();
    return Uint8Array.from([...b, ...blocks.slice(0, rand() < 0.8 ? blocks.length : int(blocks.length + 1))]);
  };
  const packetSeeds = seeds.filter((x) => x.length >= 34 && x[0]! >> 4 === 1);
  const sealedPacket = (): Uint8Array => {
    const src = rand() < 0.9 ? eveAddr : { network: pick([0, 1, 0xffff]), node: hostileId() };
    const dst = rand() < 0.9 ? victimAddr : { network: pick([0, 1, 0xffff]), node: hostileId() };
    const base = { src, dst, srcPort: pick([7777, 49152, 0, 0xffff, int(0x10000)]), window: pick([0, 1, 0xffff, int(0x10000)]) };
    switch (int(8)) {
      case 0: // SYN to a service port (the responder's first sequence number is always 0)
        return encodePacket({ ...base, flags: 0x1, protocol: 1, dstPort: servicePort(), seq: 0, ack: 0, payload: new Uint8Array(0) });
      case 1: // the data that would follow it: hostile service and event frames
        return encodePacket({ ...base, flags: 0x2, protocol: 1, dstPort: servicePort(), seq: 1, ack: 1, payload: hostileServicePayload() });
      case 2: // ACKs with hostile SACK blocks
        return encodePacket({ ...base, flags: 0x2, protocol: 1, dstPort: servicePort(), seq: (rand() * 4294967296) >>> 0, ack: (rand() * 4294967296) >>> 0, payload: sack() });
      case 3:
        return encodePacket({ ...base, flags: int(16), protocol: 2, dstPort: servicePort(), seq: 0, ack: 0, payload: bytes(int(600)) });
      case 4:
        return encodePacket({ ...base, flags: int(16), protocol: 3, dstPort: int(0x10000), seq: (rand() * 4294967296) >>> 0, ack: 0, payload: bytes(int(64)) });
      case 5: // FIN / RST / everything at once, anywhere in sequence space
        return encodePacket({ ...base, flags: pick([0x4, 0x8, 0x6, 0xf, 0xc]), protocol: 1, dstPort: servicePort(), seq: (rand() * 4294967296) >>> 0, ack: (rand() * 4294967296) >>> 0, payload: bytes(int(32)) });
      case 6:
        return encodePacket({ ...base, flags: int(16), protocol: int(256), dstPort: servicePort(), seq: (rand() * 4294967296) >>> 0, ack: (rand() * 4294967296) >>> 0, payload: bytes(int(200)) });
      default: // a mutated test-vector packet: usually a bad CRC or length inside a valid seal
        return mutateRandomly(rand, pick(packetSeeds));
    }
  };
  const gen: Record<DatagramFamily, () => Uint8Array> = {
    pils_sealed_hostile: () => f.seal(sealedPacket()),
    random: () => bytes(int(1473)),
    magic_random: () => withMagic(pick(magics), bytes(int(300))),
    beacon_random: () => {
      const b = bytes(1 + int(64));
      b[0] = int(16);
      return b;
    },
    vector_mutated: () => mutateRandomly(rand, pick(seeds)),
    pila_signed_hostile: () => pick(signed),
    pila_signed_mutated: () => mutateRandomly(rand, pick(signed), 2),
    pils_unknown_session: pils,
    pilk: () => encodePILK({ sender: hostileId(), x25519Public: rand() < 0.5 ? pick(LOW_ORDER_X25519) : bytes(32) }),
    pilt_packet: () => (rand() < 0.8 ? encodePILT(packet()) : mutateRandomly(rand, encodePILT(packet()))),
    beacon_spoofed: beaconSpoof,
  };
  // Each family's run starts with its hand-picked cases, so even a short budget sends every one.
  const specials: Partial<Record<DatagramFamily, Uint8Array[]>> = {
    pila_signed_hostile: [...signed],
    beacon_spoofed: [
      encodeBeacon({ type: 'punch_command', ip: '127.0.0.1', port: 0 }),
      encodeBeacon({ type: 'punch_command', ip: '::1', port: 9 }),
      encodeBeacon({ type: 'punch_command', ip: '255.255.255.255', port: 9 }),
      encodeBeacon({ type: 'discover_reply', ip: '127.0.0.1', port: 0 }),
      encodeBeacon({ type: 'relay_deliver', sender: att.nodeId, frame: signed[0]! }),
      Uint8Array.of(0x07, 0, 0, 0, 1, 0xff, 0xff),
    ],
    pils_unknown_session: [encodePILS(0, new Uint8Array(12), new Uint8Array(16)), encodePILS(f.friend.nodeId, new Uint8Array(12), new Uint8Array(16))],
    // A real stream to every service port (SYN, then data from seq 1: the responder's ISN is 0)
    // carrying each kind of hostile service payload. Sealed lazily: the cipher's counters must
    // follow the order the frames are sent in.
    pils_sealed_hostile: [],
  };
  const sealedSpecials: (() => Uint8Array)[] = [];
  let streamPort = 40000;
  for (const dstPort of [7, 444, 1000, 1001, 1002, 1003]) {
    for (let k = 0; k < 5; k++) {
      const srcPort = streamPort++;
      const base = { src: eveAddr, dst: victimAddr, srcPort, dstPort, window: 0xffff };
      sealedSpecials.push(
        () => f.seal(encodePacket({ ...base, flags: 0x1, protocol: 1, seq: 0, ack: 0, payload: new Uint8Array(0) })),
        () => f.seal(encodePacket({ ...base, flags: 0x2, protocol: 1, seq: 1, ack: 1, payload: hostileServicePayload(k) })),
      );
    }
  }
  return (family) => {
    const k = family ?? pick(KINDS);
    const special = family ? (k === 'pils_sealed_hostile' ? sealedSpecials.shift()?.() : specials[k]?.shift()) : undefined;
    return [k, special ?? gen[k]()];
  };
}

export interface UdpFuzzOptions {
  datagrams: number;
  seed?: number;
  pingEvery?: number;
  window?: number;
  /** Progress callback (every ~5 % of the run). */
  progress?: (sent: number) => void;
}

export async function fuzzUdp(f: Fleet, o: UdpFuzzOptions): Promise<UdpFuzzResult> {
  const t0 = performance.now();
  const window = o.window ?? 64;
  const pingEvery = o.pingEvery ?? 5000;
  const next = datagramSource(f, o.seed ?? 1);
  const sock = dgram.createSocket('udp4');
  sock.on('message', () => undefined); // the victim's answers (its own PILA, pongs) are not needed
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const byFamily: Record<string, number> = {};
  const pings = { ok: 0, failed: 0, errors: [] as string[] };
  const before = await victimInfo(f);
  const rss = { before: rssKb(f.victimPid), after: undefined as number | undefined, max: rssKb(f.victimPid) };
  const rssSamples: [number, number][] = [];
  const ping = async (): Promise<void> => {
    try {
      await f.friend.controlPing(f.victimId, 5000);
      pings.ok++;
    } catch (e) {
      pings.failed++;
      if (pings.errors.length < 10) pings.errors.push(e instanceof Error ? e.message : String(e));
    }
  };
  await ping();
  let sent = 0;
  let nextPing = pingEvery;
  const progressStep = Math.max(1, Math.floor(o.datagrams / 20));
  let nextProgress = progressStep;

  /** Sends `count` datagrams (of one family, or mixed), pinging and sampling RSS on the way. */
  const phase = async (count: number, family?: DatagramFamily): Promise<void> => {
    let recvBase = (await victimInfo(f)).traffic.pktsRecv;
    let sentSinceBase = 0;
    for (let done = 0; done < count; ) {
      const batch = Math.min(window, count - done);
      await Promise.all(
        Array.from({ length: batch }, () => {
          const [k, b] = next(family);
          byFamily[k] = (byFamily[k] ?? 0) + 1;
          return new Promise<void>((resolve) => sock.send(b, f.victimUdp.port, f.victimUdp.host, () => resolve()));
        }),
      );
      done += batch;
      sent += batch;
      sentSinceBase += batch;
      // Wait until the daemon has read what we sent (or stops making progress: the rest was lost).
      let last = -1;
      let still = 0;
      for (;;) {
        const got = (await victimInfo(f)).traffic.pktsRecv - recvBase;
        if (got >= sentSinceBase - window / 4) break;
        if (got === last && ++still >= 3) break;
        if (got !== last) still = 0;
        last = got;
      }
      if (sent >= nextPing) {
        nextPing += pingEvery;
        const r = rssKb(f.victimPid);
        if (r !== undefined) {
          rss.max = Math.max(rss.max ?? 0, r);
          rssSamples.push([sent, r]);
        }
        await ping();
        // The pings' own datagrams are counted by the daemon too: re-base the window.
        recvBase = (await victimInfo(f)).traffic.pktsRecv;
        sentSinceBase = 0;
      }
      if (o.progress && sent >= nextProgress) {
        nextProgress += progressStep;
        o.progress(sent);
      }
    }
    // Drain: the phase ends when the daemon has read all of it (or stopped making progress), so the
    // next phase's counter differences are its own.
    for (let last = -1, still = 0; ; ) {
      const got = (await victimInfo(f)).traffic.pktsRecv - recvBase;
      if (got >= sentSinceBase) break;
      if (got === last && ++still >= 3) break;
      if (got !== last) still = 0;
      last = got;
    }
  };

  const perFamily: UdpFuzzResult['perFamily'] = {};
  try {
    // Half the budget family by family (so each family's drops can be told apart), half mixed.
    const each = Math.floor(o.datagrams / 2 / KINDS.length);
    for (const k of KINDS) {
      const a = await victimInfo(f);
      await phase(each, k);
      const b = await victimInfo(f);
      const drops = diffCounts(b.drops, a.drops);
      const counted = Object.values(drops).reduce((x, y) => x + y, 0);
      perFamily[k] = { sent: each, drops, notDropped: Math.max(0, each - counted) };
    }
    await phase(o.datagrams - each * KINDS.length);
    await ping();
    const after = await victimInfo(f);
    rss.after = rssKb(f.victimPid);
    rss.max = Math.max(rss.max ?? 0, rss.after ?? 0);
    return {
      sent,
      byFamily,
      perFamily,
      delivered: after.traffic.pktsRecv - before.traffic.pktsRecv,
      drops: diffCounts(after.drops, before.drops),
      pings,
      rssKb: rss,
      rssSamples,
      alive: alive(f.victimPid),
      durationMs: Math.round(performance.now() - t0),
    };
  } finally {
    sock.close();
  }
}

export interface BeaconFuzzResult {
  sent: number;
  byFamily: Record<string, number>;
  /** Barriers: after each batch a discover (node 0) whose reply shows the beacon has read the batch. */
  barriers: { answered: number; hang: number };
  alive: boolean;
  goodClientOk: boolean;
  rssKb: { before?: number; after?: number };
  durationMs: number;
}

/**
 * The same datagram families at the backbone's beacon port. The beacon keeps its counters to itself,
 * so the fuzzer paces itself with a discover after each batch: its reply means the batch was read.
 * Afterwards a fresh socket's discover must be answered, and the backbone process must be alive.
 */
export async function fuzzBeacon(f: Fleet, o: { datagrams: number; seed?: number; window?: number }): Promise<BeaconFuzzResult> {
  const t0 = performance.now();
  const window = o.window ?? 64;
  const next = datagramSource(f, (o.seed ?? 1) ^ 0xbeac);
  const i = f.bb.beacon.lastIndexOf(':');
  const host = f.bb.beacon.slice(0, i);
  const port = Number(f.bb.beacon.slice(i + 1));
  const pid = f.bb.proc.pid!;
  const before = rssKb(pid);
  const discover = encodeBeacon({ type: 'discover', nodeId: 0 });
  const isReply = (m: Buffer): boolean => m.length > 0 && m[0] === 0x02;
  const ask = (s: dgram.Socket): Promise<boolean> =>
    new Promise((resolve) => {
      const t = setTimeout(() => done(false), 5000);
      const onMsg = (m: Buffer): void => {
        if (isReply(m)) done(true);
      };
      function done(v: boolean): void {
        clearTimeout(t);
        s.off('message', onMsg);
        resolve(v);
      }
      s.on('message', onMsg);
      s.send(discover, port, host);
    });
  const sock = dgram.createSocket('udp4');
  sock.on('message', () => undefined);
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const byFamily: Record<string, number> = {};
  const barriers = { answered: 0, hang: 0 };
  let sent = 0;
  try {
    while (sent < o.datagrams) {
      const batch = Math.min(window, o.datagrams - sent);
      await Promise.all(
        Array.from({ length: batch }, () => {
          const [k, b] = next();
          byFamily[k] = (byFamily[k] ?? 0) + 1;
          return new Promise<void>((resolve) => sock.send(b, port, host, () => resolve()));
        }),
      );
      sent += batch;
      if (await ask(sock)) barriers.answered++;
      else barriers.hang++;
    }
  } finally {
    sock.close();
  }
  const good = dgram.createSocket('udp4');
  await new Promise<void>((r) => good.bind(0, '127.0.0.1', () => r()));
  // UDP is lossy and a real client retries: three tries of 5 s.
  let goodClientOk = false;
  for (let t = 0; t < 3 && !goodClientOk; t++) goodClientOk = await ask(good);
  good.close();
  return { sent, byFamily, barriers, alive: f.bb.proc.exitCode === null, goodClientOk, rssKb: { before, after: rssKb(pid) }, durationMs: Math.round(performance.now() - t0) };
}
