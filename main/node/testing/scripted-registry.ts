/**
 * Test helper: a registry over real TCP whose answers a test scripts (length-prefixed JSON frames,
 * registry.md §1). `answer` gets each request and returns the reply, or 'close' to drop that
 * connection. `kill` behaves like a killed process (every connection reset, nothing listening);
 * `close` ends connections politely.
 */
import net from 'node:net';
import { FrameDecoder, decodeJson, encodeJsonFrame } from '../../wire/framing';

export type ScriptedAnswer = Record<string, unknown> | 'close';

export interface ScriptedRegistry {
  /** `127.0.0.1:<port>` */
  readonly address: string;
  /** Request types in the order they came. */
  readonly seen: string[];
  count(type: string): number;
  kill(): Promise<void>;
  close(): Promise<void>;
}

export async function scriptedRegistry(answer: (msg: Record<string, unknown>) => ScriptedAnswer): Promise<ScriptedRegistry> {
  const seen: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    const dec = new FrameDecoder();
    s.on('data', (c: Buffer) => {
      for (const f of dec.push(new Uint8Array(c))) {
        const m = decodeJson(f) as Record<string, unknown>;
        seen.push(String(m['type']));
        const r = answer(m);
        if (r === 'close') s.destroy();
        else s.write(encodeJsonFrame(r));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const stop = (end: (s: net.Socket) => void) => (): Promise<void> =>
    new Promise<void>((r) => {
      for (const s of sockets) end(s);
      server.close(() => r());
    });
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    seen,
    count: (type) => seen.filter((t) => t === type).length,
    kill: stop((s) => s.resetAndDestroy()),
    close: stop((s) => s.destroy()),
  };
}
