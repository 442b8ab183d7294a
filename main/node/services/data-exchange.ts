/**
 * Data exchange, port 1001 (services.md §3): `type u32 ‖ length u32 ‖ payload` frames, many per
 * connection. FILE frames are saved to `<dataDir>/received/<base>-<YYYYMMDD-HHMMSS.mmm><ext>` (base
 * name only — no directories, no traversal — mode 0600, never overwriting); TEXT/JSON/BINARY to
 * `<dataDir>/inbox/<TYPE>-<stamp>.json` as {bytes, data, from, received_at, type}; every frame is
 * answered with a TEXT frame `ACK <TYPE> <n> bytes` (or `ERR <TYPE> save failed: <error>`).
 * Unknown types are acknowledged and not stored. File stamps are UTC.
 *
 * Trace context: a client of ours sends, before its frames, one TRACE_CONTEXT frame (type
 * 0x54524350 "TRCP", payload a W3C traceparent). The reference treats it as an unknown type — it
 * answers `ACK UNKNOWN(1414677328) 55 bytes` and stores nothing — and so do we, after taking it as
 * the parent of the connection's later frames; the client skips that first reply either way. Each
 * frame received is a server span `data.receive`; each send a client span `data.send`.
 */
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { PORTS, formatAddress } from '../../../shared/address';
import { PilotError } from '../../../shared/errors';
import { fromUtf8, utf8 } from '../../util/bytes';
import type { Logger } from '../../util/log';
import {
  DATA_TYPE,
  ServiceFrameDecoder,
  dataTypeName,
  decodeFilePayload,
  encodeFilePayload,
  encodeServiceFrame,
  type ServiceFrame,
} from '../../wire/service';
import type { PilotNode } from '../node';
import type { Address } from '../../../shared/address';
import { ROOT_PARENT, type ParentLike, type Span } from '../../observe/tracer';
import { parseTraceparent, type TraceParent } from '../../observe/traceparent';

/** Data-exchange frame type carrying a W3C traceparent ("TRCP"): an unknown type to the reference. */
export const TRACE_CONTEXT_TYPE = 0x54524350;
import type { PilotStream } from '../stream';
import { FrameReader, fileStamp, rfc3339, safeBaseName, splitExt, targetAddress, writeNewFile, writeOrRefused, type Target } from './common';

export interface InboxMessage {
  bytes: number;
  data: string;
  from: string;
  received_at: string;
  type: 'TEXT' | 'JSON' | 'BINARY';
}

export interface MessageEvent extends InboxMessage {
  path: string;
}

export interface FileEvent {
  from: string;
  name: string;
  bytes: number;
  path: string;
  received_at: string;
}

export interface DataExchangeEvents {
  message: [m: MessageEvent];
  file: [f: FileEvent];
}

export class DataExchangeService extends EventEmitter<DataExchangeEvents> {
  private stopListening: (() => void) | undefined;
  readonly counters = { frames: 0, messages: 0, files: 0, errors: 0 };

  constructor(
    private readonly node: PilotNode,
    readonly inboxDir: string,
    readonly receivedDir: string,
    private readonly log: Logger,
  ) {
    super();
  }

  start(): void {
    this.stopListening = this.node.listen(PORTS.dataExchange, (s) => this.onStream(s));
  }

  stop(): void {
    this.stopListening?.();
    this.stopListening = undefined;
  }

  private onStream(s: PilotStream): void {
    const decoder = new ServiceFrameDecoder();
    const from = formatAddress(s.remote);
    let chain = Promise.resolve();
    let parent: TraceParent | undefined;
    s.stopBuffering();
    s.on('data', (chunk) => {
      let frames: ServiceFrame[];
      try {
        frames = decoder.push(Uint8Array.from(chunk));
      } catch (e) {
        this.counters.errors++;
        this.log.warn('bad data-exchange frame, closing', { peer: s.remote.node, error: String(e) });
        s.abort();
        return;
      }
      for (const f of frames) {
        chain = chain.then(async () => {
          if (f.type === TRACE_CONTEXT_TYPE) parent = f.payload.length <= 512 ? parseTraceparent(fromUtf8(f.payload)) : undefined;
          const span = f.type === TRACE_CONTEXT_TYPE ? undefined : this.node.tracer.start('data.receive', parent ?? ROOT_PARENT, { 'peer.node_id': s.remote.node, 'data.type': dataTypeName(f.type), 'data.bytes': f.payload.length }, 'server');
          const reply = await this.handle(f, from);
          if (span) {
            if (reply.startsWith('ERR ')) span.fail(reply);
            else span.end();
          }
          try {
            if (!s.closed) s.write(encodeServiceFrame(DATA_TYPE.TEXT, utf8(reply)));
          } catch {
            // closed meanwhile: the peer does not wait for the reply
          }
        });
      }
    });
  }

  /** Stores one frame; returns the reply text. */
  private async handle(f: ServiceFrame, from: string): Promise<string> {
    this.counters.frames++;
    const name = dataTypeName(f.type);
    const now = this.node.clock.wallNow();
    try {
      switch (f.type) {
        case DATA_TYPE.FILE: {
          const { name: fileName, data } = decodeFilePayload(f.payload);
          if (fileName === '') return `ACK ${name} ${data.length} bytes`;
          const [base, ext] = splitExt(safeBaseName(fileName));
          const file = await writeNewFile(this.receivedDir, `${base}-${fileStamp(now)}`, ext, data, 0o600);
          this.counters.files++;
          this.log.info('file received', { from, name: path.basename(file), bytes: data.length });
          this.emit('file', { from, name: path.basename(file), bytes: data.length, path: file, received_at: rfc3339(now) });
          return `ACK ${name} ${data.length} bytes`;
        }
        case DATA_TYPE.TEXT:
        case DATA_TYPE.JSON:
        case DATA_TYPE.BINARY: {
          const msg: InboxMessage = {
            bytes: f.payload.length,
            data: fromUtf8(f.payload),
            from,
            received_at: rfc3339(now),
            type: name as InboxMessage['type'],
          };
          const file = await writeNewFile(this.inboxDir, `${name}-${fileStamp(now)}`, '.json', JSON.stringify(msg, null, 2), 0o600);
          this.counters.messages++;
          this.log.info('message received', { from, type: name, bytes: f.payload.length });
          this.emit('message', { ...msg, path: file });
          return `ACK ${name} ${f.payload.length} bytes`;
        }
        default:
          return `ACK ${name} ${f.payload.length} bytes`;
      }
    } catch (e) {
      this.counters.errors++;
      this.log.warn('data-exchange save failed', { from, type: name, error: String(e) });
      return `ERR ${name} save failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
}

// ---- client ----------------------------------------------------------------------------------

export interface SendResult {
  /** The server's reply text, e.g. `ACK TEXT 5 bytes`. */
  reply: string;
}

/** Sends frames on one connection and waits for one reply per frame; an `ERR` reply throws. */
export async function sendFrames(
  node: PilotNode,
  target: Target,
  frames: { type: number; payload: Uint8Array }[],
  timeoutMs = 30_000,
  opts: { parent?: ParentLike } = {},
): Promise<SendResult[]> {
  const addr = targetAddress(target);
  const span = node.tracer.start('data.send', opts.parent, { 'peer.node_id': addr.node, 'data.frames': frames.length }, 'client');
  try {
    const out = await sendFramesIn(node, addr, frames, timeoutMs, span);
    span.end();
    return out;
  } catch (e) {
    span.fail(e);
    throw e;
  }
}

async function sendFramesIn(node: PilotNode, addr: Address, frames: { type: number; payload: Uint8Array }[], timeoutMs: number, span: Span): Promise<SendResult[]> {
  const s = await node.dial(addr, PORTS.dataExchange, timeoutMs, { parent: span });
  const decoder = new ServiceFrameDecoder();
  const reader = new FrameReader<ServiceFrame>(s, (c) => decoder.push(Uint8Array.from(c)));
  try {
    const tp = span.traceparent();
    if (tp) await writeOrRefused(s, encodeServiceFrame(TRACE_CONTEXT_TYPE, utf8(tp)));
    for (const f of frames) await writeOrRefused(s, encodeServiceFrame(f.type, f.payload));
    if (tp) {
      // The trace frame's reply (ours, or the reference's ACK UNKNOWN) is skipped: replies come in order.
      const r = await reader.next(timeoutMs);
      if (!r) throw new PilotError('connection_failed', 'data exchange: connection closed before the first reply');
    }
    const out: SendResult[] = [];
    for (let i = 0; i < frames.length; i++) {
      const r = await reader.next(timeoutMs);
      if (!r) throw new PilotError('connection_failed', `data exchange: connection closed after ${i} of ${frames.length} replies`);
      const reply = fromUtf8(r.payload);
      if (reply.startsWith('ERR ')) throw new PilotError('internal', `remote: ${reply}`);
      out.push({ reply });
    }
    return out;
  } finally {
    s.end();
  }
}

/** Sends a TEXT / JSON / BINARY message (type by name or number) and waits for the ACK. */
export async function sendMessage(
  node: PilotNode,
  target: Target,
  type: 'TEXT' | 'JSON' | 'BINARY' | number,
  data: Uint8Array | string,
  timeoutMs?: number,
): Promise<SendResult> {
  const t = typeof type === 'number' ? type : DATA_TYPE[type];
  const payload = typeof data === 'string' ? utf8(data) : data;
  const [r] = await sendFrames(node, target, [{ type: t, payload }], timeoutMs);
  return r!;
}

/** Sends a FILE frame (`name` travels as given; the receiver keeps only its base name). */
export async function sendFile(node: PilotNode, target: Target, name: string, data: Uint8Array, timeoutMs?: number): Promise<SendResult> {
  const [r] = await sendFrames(node, target, [{ type: DATA_TYPE.FILE, payload: encodeFilePayload(name, data) }], timeoutMs);
  return r!;
}
