/**
 * Echo, port 7 (services.md §2): every received chunk is written straight back on the same stream
 * until the peer closes. `pilotctl ping/traceroute/bench` use it.
 */
import { PORTS, type Address } from '../../../shared/address';
import { ROOT_PARENT, type ParentLike, type Span } from '../../observe/tracer';
import { PilotError } from '../../../shared/errors';
import { concatBytes } from '../../util/bytes';
import type { Logger } from '../../util/log';
import type { PilotNode } from '../node';
import type { PilotStream } from '../stream';
import { refusedError, targetAddress, type Target } from './common';

export class EchoService {
  private stopListening: (() => void) | undefined;
  readonly counters = { connections: 0, bytes: 0 };

  constructor(
    private readonly node: PilotNode,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.stopListening = this.node.listen(PORTS.echo, (s) => this.onStream(s));
  }

  stop(): void {
    this.stopListening?.();
    this.stopListening = undefined;
  }

  private onStream(s: PilotStream): void {
    this.counters.connections++;
    this.log.debug('echo connection', { peer: s.remote.node });
    // One span per echo connection (the payload is echoed verbatim: it carries no trace context).
    const span = this.node.tracer.start('echo.serve', ROOT_PARENT, { 'peer.node_id': s.remote.node }, 'server');
    let bytes = 0;
    s.stopBuffering();
    s.on('data', (chunk) => {
      if (s.closed) return;
      this.counters.bytes += chunk.length;
      bytes += chunk.length;
      try {
        // write() keeps the bytes when the send buffer is full (false = wait for drain); nothing is dropped.
        s.write(Uint8Array.from(chunk));
      } catch {
        // the stream closed under us: nothing to echo to
      }
    });
    s.on('close', (reason) => {
      span.set('echo.bytes', bytes);
      span.set('close.reason', reason);
      span.end();
      s.end();
    });
  }
}

/**
 * Client: sends `data` to the peer's echo port and resolves with the echoed bytes once they are all
 * back (chunk boundaries may differ), closing the stream.
 */
export async function echo(node: PilotNode, target: Target, data: Uint8Array, timeoutMs = 10_000, opts: { parent?: ParentLike } = {}): Promise<Uint8Array> {
  const addr = targetAddress(target);
  return node.tracer.trace('echo', (span) => echoIn(node, addr, data, timeoutMs, span), opts.parent, { 'peer.node_id': addr.node, 'echo.bytes': data.length }, 'client');
}

async function echoIn(node: PilotNode, addr: Address, data: Uint8Array, timeoutMs: number, span: Span): Promise<Uint8Array> {
  const s = await node.dial(addr, PORTS.echo, timeoutMs, { parent: span });
  const parts: Uint8Array[] = [];
  let got = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new PilotError('timeout', `echo: only ${got} of ${data.length} bytes back within ${timeoutMs} ms`)), timeoutMs);
      s.on('data', (c) => {
        parts.push(Uint8Array.from(c));
        got += c.length;
        if (got >= data.length) {
          clearTimeout(t);
          resolve();
        }
      });
      s.on('close', (reason) => {
        clearTimeout(t);
        if (got >= data.length) resolve();
        else if (reason === 'rst' && got === 0) reject(refusedError(s));
        else reject(new PilotError('connection_failed', `echo: stream closed (${reason}) after ${got} of ${data.length} bytes`));
      });
      if (s.closed) reject(refusedError(s));
      else s.write(data);
    });
  } finally {
    s.end();
  }
  return concatBytes(...parts);
}
