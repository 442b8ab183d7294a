/**
 * Instruments for bench/cold-dial.ts: a recorder of timestamped steps on a clock both processes share
 * (performance.timeOrigin + now(), µs), a UDP socket that records every datagram's kind as it is sent
 * and received, and a wrapper that records a registry client's lookups and resolves.
 */
import { bindUdp, datagramBytes, type DatagramSocket } from '../main/node/udp';
import { classifyDatagram } from '../main/wire/tunnel';
import type { RegistryClient } from '../main/node/registry-client';

export class Recorder {
  events: [number, string][] = [];
  private readonly counts = new Map<string, number>();
  constructor(readonly side: string) {}
  now(): number {
    return (performance.timeOrigin + performance.now()) * 1000;
  }
  /** Records `what` (numbered from its second occurrence: `B>PILS`, `B>PILS#2`, ...). */
  mark(what: string): void {
    const n = (this.counts.get(what) ?? 0) + 1;
    this.counts.set(what, n);
    this.events.push([this.now(), `${this.side} ${what}${n > 1 ? `#${n}` : ''}`]);
  }
  take(): [number, string][] {
    const e = this.events;
    this.events = [];
    this.counts.clear();
    return e;
  }
  wrapRegistry(rc: RegistryClient): void {
    for (const m of ['resolve', 'lookup', 'resolveHostname'] as const) {
      const orig = rc[m].bind(rc) as (...a: unknown[]) => Promise<unknown>;
      (rc as unknown as Record<string, unknown>)[m] = async (...a: unknown[]): Promise<unknown> => {
        this.mark(`${m} sent`);
        const r = await orig(...a);
        this.mark(`${m} answered`);
        return r;
      };
    }
  }
}

export async function recordingSocket(rec: Recorder): Promise<DatagramSocket> {
  const s = await bindUdp('127.0.0.1', 0);
  return {
    send(data, to) {
      rec.mark(`>${classifyDatagram(datagramBytes(data))}`);
      s.send(data, to);
    },
    onMessage(h) {
      s.onMessage((data, from) => {
        rec.mark(`<${classifyDatagram(data)}`);
        h(data, from);
      });
    },
    local: () => s.local(),
    close: () => s.close(),
  };
}
