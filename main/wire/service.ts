/**
 * Frame formats of the built-in port services (services.md §3–§5).
 *
 * (a) Data exchange (port 1001) and task submit (port 1003): `type u32 ‖ length u32 ‖ payload`,
 *     length ≤ 16 MiB.
 * (b) Event stream (port 1002): `topic_len u16 ‖ topic ‖ payload_len u32 ‖ payload`,
 *     topic ≤ 1024 bytes, payload ≤ 16 MiB.
 *
 * The decoders return payloads as VIEWS into a pushed chunk when the payload arrived inside one
 * chunk (else a single copy); pushed chunks must not be modified afterwards. A limit violation
 * throws frame_too_large as soon as the offending length field is seen; the connection should
 * then be closed.
 */
import { PilotError } from '../../shared/errors';
import { ChunkQueue } from './chunks';
import { putU32 } from './bytes';

/** Largest service-frame / event payload (2^24 bytes, inclusive). */
export const MAX_SERVICE_PAYLOAD = 1 << 24;
export const SERVICE_HEADER_SIZE = 8;
export const MAX_EVENT_TOPIC = 1024;
export const MAX_EVENT_PAYLOAD = MAX_SERVICE_PAYLOAD;

/** Data exchange (port 1001) frame types. */
export const DATA_TYPE = { TEXT: 1, BINARY: 2, JSON: 3, FILE: 4 } as const;
/** Task submit (port 1003) frame types. SUBMIT is used for the request and its response. */
export const TASK_TYPE = { SUBMIT: 1, RESULT: 2, STATUS_UPDATE: 3, SEND_RESULTS: 4 } as const;

/** `TEXT`, `BINARY`, `JSON`, `FILE` or `UNKNOWN(n)` — the names used in data-exchange ACK texts. */
export function dataTypeName(type: number): string {
  switch (type) {
    case DATA_TYPE.TEXT:
      return 'TEXT';
    case DATA_TYPE.BINARY:
      return 'BINARY';
    case DATA_TYPE.JSON:
      return 'JSON';
    case DATA_TYPE.FILE:
      return 'FILE';
    default:
      return `UNKNOWN(${type})`;
  }
}

export interface ServiceFrame {
  type: number;
  payload: Uint8Array;
}

export interface EventFrame {
  topic: string;
  payload: Uint8Array;
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: false });

function tooLarge(what: string, n: number, max: number): PilotError {
  return new PilotError('frame_too_large', `${what} of ${n} bytes exceeds the ${max}-byte limit`);
}

// ---- (a) type ‖ length ‖ payload --------------------------------------------------------------

export function encodeServiceFrame(type: number, payload: Uint8Array): Uint8Array {
  if (!Number.isInteger(type) || type < 0 || type > 0xffffffff) {
    throw new PilotError('invalid_argument', `service frame type out of range: ${type}`);
  }
  if (payload.length > MAX_SERVICE_PAYLOAD) throw tooLarge('service frame payload', payload.length, MAX_SERVICE_PAYLOAD);
  const out = new Uint8Array(SERVICE_HEADER_SIZE + payload.length);
  putU32(out, 0, type);
  putU32(out, 4, payload.length);
  out.set(payload, SERVICE_HEADER_SIZE);
  return out;
}

/** Buffering decoder for `type u32 ‖ length u32 ‖ payload` frames. */
export class ServiceFrameDecoder {
  private readonly queue = new ChunkQueue();
  private type = 0;
  private need = -1; // payload length of the frame in progress, -1 while reading a header

  constructor(private readonly max: number = MAX_SERVICE_PAYLOAD) {}

  push(chunk: Uint8Array): ServiceFrame[] {
    this.queue.push(chunk);
    const frames: ServiceFrame[] = [];
    for (;;) {
      if (this.need < 0) {
        if (this.queue.length < SERVICE_HEADER_SIZE) break;
        const n = this.queue.peekU32(4);
        if (n > this.max) throw tooLarge('service frame payload', n, this.max);
        this.type = this.queue.peekU32(0);
        this.queue.skip(SERVICE_HEADER_SIZE);
        this.need = n;
      }
      if (this.queue.length < this.need) break;
      frames.push({ type: this.type, payload: this.queue.take(this.need) });
      this.need = -1;
    }
    return frames;
  }

  /** Bytes received but not yet returned in a frame. */
  get buffered(): number {
    return this.queue.length + (this.need >= 0 ? SERVICE_HEADER_SIZE : 0);
  }
}

/** FILE payload: `name_len u16 ‖ name (UTF-8) ‖ file bytes`. */
export function encodeFilePayload(name: string, data: Uint8Array): Uint8Array {
  const nameBytes = enc.encode(name);
  if (nameBytes.length > 0xffff) throw new PilotError('invalid_argument', `file name too long: ${nameBytes.length} bytes`);
  const out = new Uint8Array(2 + nameBytes.length + data.length);
  out[0] = nameBytes.length >>> 8;
  out[1] = nameBytes.length;
  out.set(nameBytes, 2);
  out.set(data, 2 + nameBytes.length);
  return out;
}

/** Splits a FILE payload; `data` is a view into `payload`. */
export function decodeFilePayload(payload: Uint8Array): { name: string; data: Uint8Array } {
  if (payload.length < 2) throw new PilotError('short_buffer', `FILE payload too short: ${payload.length} bytes`);
  const n = (payload[0]! << 8) | payload[1]!;
  if (payload.length < 2 + n) {
    throw new PilotError('short_buffer', `FILE payload truncated: name needs ${n} bytes, have ${payload.length - 2}`);
  }
  return { name: dec.decode(payload.subarray(2, 2 + n)), data: payload.subarray(2 + n) };
}

// ---- (b) event stream -------------------------------------------------------------------------

export function encodeEvent(topic: string, payload: Uint8Array): Uint8Array {
  const t = enc.encode(topic);
  if (t.length > MAX_EVENT_TOPIC) throw tooLarge('event topic', t.length, MAX_EVENT_TOPIC);
  if (payload.length > MAX_EVENT_PAYLOAD) throw tooLarge('event payload', payload.length, MAX_EVENT_PAYLOAD);
  const out = new Uint8Array(2 + t.length + 4 + payload.length);
  out[0] = t.length >>> 8;
  out[1] = t.length;
  out.set(t, 2);
  putU32(out, 2 + t.length, payload.length);
  out.set(payload, 6 + t.length);
  return out;
}

/** Buffering decoder for event-stream events. */
export class EventDecoder {
  private readonly queue = new ChunkQueue();
  private topic = '';
  private need = -1; // payload length of the event in progress, -1 while reading topic + length

  constructor(
    private readonly maxTopic: number = MAX_EVENT_TOPIC,
    private readonly maxPayload: number = MAX_EVENT_PAYLOAD,
  ) {}

  push(chunk: Uint8Array): EventFrame[] {
    this.queue.push(chunk);
    const events: EventFrame[] = [];
    for (;;) {
      if (this.need < 0) {
        if (this.queue.length < 2) break;
        const t = this.queue.peekU16(0);
        if (t > this.maxTopic) throw tooLarge('event topic', t, this.maxTopic);
        if (this.queue.length < 2 + t + 4) break;
        const n = this.queue.peekU32(2 + t);
        if (n > this.maxPayload) throw tooLarge('event payload', n, this.maxPayload);
        this.queue.skip(2);
        this.topic = dec.decode(this.queue.take(t));
        this.queue.skip(4);
        this.need = n;
      }
      if (this.queue.length < this.need) break;
      events.push({ topic: this.topic, payload: this.queue.take(this.need) });
      this.need = -1;
    }
    return events;
  }

  /** Bytes received but not yet returned (the parsed header of an event in progress is not counted). */
  get buffered(): number {
    return this.queue.length;
  }
}
