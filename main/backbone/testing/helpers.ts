/** Test helpers for the backbone: a raw framed socket, identities, a quiet backbone on ephemeral ports. */
import net from 'node:net';
import dgram from 'node:dgram';
import { Identity, getCrypto } from '../../crypto';
import { FrameDecoder, decodeJson, encodeJsonFrame } from '../../wire/framing';
import { silentLogger } from '../../util/log';
import { startBackbone, type Backbone, type BackboneOptions } from '../index';

export const crypto = getCrypto();

export function newIdentity(): Identity {
  return Identity.generate(crypto);
}

export async function startTestBackbone(opts: Partial<BackboneOptions> = {}): Promise<Backbone> {
  return startBackbone({ registry: '127.0.0.1:0', beacon: '127.0.0.1:0', logger: silentLogger, ...opts });
}

export function regAddr(bb: Backbone): string {
  return `${bb.registryAddress.host}:${bb.registryAddress.port}`;
}

/** A raw framed TCP connection for protocol-level tests. */
export class RawConn {
  private readonly dec = new FrameDecoder();
  private readonly inbox: unknown[] = [];
  private waiters: ((v: unknown) => void)[] = [];
  closed = false;
  private closeWaiters: (() => void)[] = [];

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      for (const f of this.dec.push(new Uint8Array(c))) {
        const v = decodeJson(f);
        const w = this.waiters.shift();
        if (w) w(v);
        else this.inbox.push(v);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.closeWaiters) w();
    });
  }

  static connect(bb: Backbone): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = net.connect(bb.registryAddress.port, bb.registryAddress.host, () => resolve(new RawConn(s)));
      s.once('error', reject);
    });
  }

  send(obj: unknown): void {
    this.socket.write(encodeJsonFrame(obj));
  }
  sendBytes(b: Uint8Array): void {
    this.socket.write(b);
  }
  next(timeoutMs = 5000): Promise<Record<string, unknown>> {
    const v = this.inbox.shift();
    if (v !== undefined) return Promise.resolve(v as Record<string, unknown>);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no frame within timeout')), timeoutMs);
      this.waiters.push((x) => {
        clearTimeout(t);
        resolve(x as Record<string, unknown>);
      });
    });
  }
  async call(obj: unknown): Promise<Record<string, unknown>> {
    this.send(obj);
    return this.next();
  }
  waitClosed(timeoutMs = 5000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('connection not closed')), timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
  close(): void {
    this.socket.destroy();
  }
}

/** A UDP socket bound to 127.0.0.1:0 that collects datagrams. */
export class UdpProbe {
  private readonly got: Buffer[] = [];
  private waiters: ((b: Buffer) => void)[] = [];
  private constructor(readonly sock: dgram.Socket) {
    sock.on('message', (m) => {
      const w = this.waiters.shift();
      if (w) w(m);
      else this.got.push(m);
    });
  }
  static async open(): Promise<UdpProbe> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    return new UdpProbe(s);
  }
  get port(): number {
    return this.sock.address().port;
  }
  send(b: Uint8Array, port: number): Promise<void> {
    return new Promise((resolve, reject) => this.sock.send(b, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  }
  next(timeoutMs = 3000): Promise<Buffer> {
    const b = this.got.shift();
    if (b) return Promise.resolve(b);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no datagram within timeout')), timeoutMs);
      this.waiters.push((x) => {
        clearTimeout(t);
        resolve(x);
      });
    });
  }
  get queued(): number {
    return this.got.length;
  }
  close(): void {
    this.sock.close();
  }
}
