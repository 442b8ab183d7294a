/**
 * Local IPC messages between a driver (CLI, console) and the daemon (cli.md §2), plus Pilot
 * Fleet's extension commands 0x40–0x42. A message is `command byte ‖ payload`; the u32 length
 * prefix is added/removed by framing.ts (`encodeFrame` / `FrameDecoder`).
 *
 * Representation choices:
 * - JSON-bearing payloads (InfoOK, HandshakeOK, the registry replies *_ok, and the Ext* messages)
 *   are carried as RAW UTF-8 bytes in `json` — lossless, so bytes round-trip exactly and the
 *   receiver validates with its own schema. Use `ipcJson(bytes)` / `jsonBytes(value)` to convert.
 * - SetTags carries the parsed `tags: string[]` (a JSON array of strings on the wire).
 * - Hostname, webhook URL and error message are strings (UTF-8 on the wire).
 * - SetVisibility / SetTaskExec: wire byte 1 ⇔ true; any other byte (or an empty payload) is false.
 * - Handshake carries its sub-command byte and the raw rest (`body`); see `handshakeBody` /
 *   `parseHandshakeBody` for the `node_id u32 ‖ text` convention of subs 1, 2, 3, 6.
 * - `data`/`body`/`json` fields of decoded messages are VIEWS into the input.
 * Trailing bytes after fixed-size payloads are ignored.
 */
import type { Address } from '../../shared/address';
import { PilotError } from '../../shared/errors';
import { decodeJson, encodeJson } from './framing';
import { checkU16, checkU32, putU16, putU32, u16, u32 } from './bytes';

export const IPC_CMD = {
  Bind: 0x01,
  BindOK: 0x02,
  Dial: 0x03,
  DialOK: 0x04,
  Accept: 0x05,
  Send: 0x06,
  Recv: 0x07,
  Close: 0x08,
  CloseOK: 0x09,
  Error: 0x0a,
  SendTo: 0x0b,
  RecvFrom: 0x0c,
  Info: 0x0d,
  InfoOK: 0x0e,
  Handshake: 0x0f,
  HandshakeOK: 0x10,
  ResolveHostname: 0x11,
  ResolveHostnameOK: 0x12,
  SetHostname: 0x13,
  SetHostnameOK: 0x14,
  SetVisibility: 0x15,
  SetVisibilityOK: 0x16,
  Deregister: 0x17,
  DeregisterOK: 0x18,
  SetTags: 0x19,
  SetTagsOK: 0x1a,
  SetWebhook: 0x1b,
  SetWebhookOK: 0x1c,
  SetTaskExec: 0x1d,
  SetTaskExecOK: 0x1e,
  /** Pilot Fleet extension: `u32 requestId ‖ UTF-8 JSON`, driver → daemon. */
  ExtRequest: 0x40,
  /** Pilot Fleet extension: `u32 requestId ‖ UTF-8 JSON`, daemon → driver. */
  ExtResponse: 0x41,
  /** Pilot Fleet extension: `UTF-8 JSON`, daemon → driver push. */
  ExtEvent: 0x42,
} as const;

/** Handshake (0x0F) sub-commands (cli.md §2.2). */
export const HANDSHAKE_SUB = {
  SEND: 0x01,
  APPROVE: 0x02,
  REJECT: 0x03,
  PENDING: 0x04,
  TRUSTED: 0x05,
  REVOKE: 0x06,
} as const;

/** The Error reply's code field; the reference always sends 1. */
export const IPC_ERROR_CODE = 1;

export type IpcMessage =
  | { cmd: 'bind'; port: number }
  | { cmd: 'bind_ok'; port: number }
  | { cmd: 'dial'; addr: Address; port: number }
  | { cmd: 'dial_ok'; connId: number }
  | { cmd: 'accept'; localPort: number; connId: number; remote: Address; remotePort: number }
  | { cmd: 'send'; connId: number; data: Uint8Array }
  | { cmd: 'recv'; connId: number; data: Uint8Array }
  | { cmd: 'close'; connId: number }
  | { cmd: 'close_ok'; connId: number }
  | { cmd: 'error'; code: number; message: string }
  | { cmd: 'send_to'; addr: Address; port: number; data: Uint8Array }
  | { cmd: 'recv_from'; src: Address; srcPort: number; dstPort: number; data: Uint8Array }
  | { cmd: 'info' }
  | { cmd: 'info_ok'; json: Uint8Array }
  | { cmd: 'handshake'; sub: number; body: Uint8Array }
  | { cmd: 'handshake_ok'; json: Uint8Array }
  | { cmd: 'resolve_hostname'; hostname: string }
  | { cmd: 'resolve_hostname_ok'; json: Uint8Array }
  | { cmd: 'set_hostname'; hostname: string }
  | { cmd: 'set_hostname_ok'; json: Uint8Array }
  | { cmd: 'set_visibility'; public: boolean }
  | { cmd: 'set_visibility_ok'; json: Uint8Array }
  | { cmd: 'deregister' }
  | { cmd: 'deregister_ok'; json: Uint8Array }
  | { cmd: 'set_tags'; tags: string[] }
  | { cmd: 'set_tags_ok'; json: Uint8Array }
  | { cmd: 'set_webhook'; url: string }
  | { cmd: 'set_webhook_ok'; json: Uint8Array }
  | { cmd: 'set_task_exec'; enabled: boolean }
  | { cmd: 'set_task_exec_ok'; json: Uint8Array }
  | { cmd: 'ext_request'; requestId: number; json: Uint8Array }
  | { cmd: 'ext_response'; requestId: number; json: Uint8Array }
  | { cmd: 'ext_event'; json: Uint8Array };

export type IpcCommandName = IpcMessage['cmd'];

/** Command byte of each message kind. */
export const IPC_CMD_BYTE: { readonly [K in IpcCommandName]: number } = {
  bind: IPC_CMD.Bind,
  bind_ok: IPC_CMD.BindOK,
  dial: IPC_CMD.Dial,
  dial_ok: IPC_CMD.DialOK,
  accept: IPC_CMD.Accept,
  send: IPC_CMD.Send,
  recv: IPC_CMD.Recv,
  close: IPC_CMD.Close,
  close_ok: IPC_CMD.CloseOK,
  error: IPC_CMD.Error,
  send_to: IPC_CMD.SendTo,
  recv_from: IPC_CMD.RecvFrom,
  info: IPC_CMD.Info,
  info_ok: IPC_CMD.InfoOK,
  handshake: IPC_CMD.Handshake,
  handshake_ok: IPC_CMD.HandshakeOK,
  resolve_hostname: IPC_CMD.ResolveHostname,
  resolve_hostname_ok: IPC_CMD.ResolveHostnameOK,
  set_hostname: IPC_CMD.SetHostname,
  set_hostname_ok: IPC_CMD.SetHostnameOK,
  set_visibility: IPC_CMD.SetVisibility,
  set_visibility_ok: IPC_CMD.SetVisibilityOK,
  deregister: IPC_CMD.Deregister,
  deregister_ok: IPC_CMD.DeregisterOK,
  set_tags: IPC_CMD.SetTags,
  set_tags_ok: IPC_CMD.SetTagsOK,
  set_webhook: IPC_CMD.SetWebhook,
  set_webhook_ok: IPC_CMD.SetWebhookOK,
  set_task_exec: IPC_CMD.SetTaskExec,
  set_task_exec_ok: IPC_CMD.SetTaskExecOK,
  ext_request: IPC_CMD.ExtRequest,
  ext_response: IPC_CMD.ExtResponse,
  ext_event: IPC_CMD.ExtEvent,
};

const CMD_NAME = new Map<number, IpcCommandName>(
  (Object.entries(IPC_CMD_BYTE) as [IpcCommandName, number][]).map(([name, byte]) => [byte, name]),
);

/** Message name of a command byte, or undefined. */
export function ipcCommandName(byte: number): IpcCommandName | undefined {
  return CMD_NAME.get(byte);
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: false });

/** Parses a JSON payload (InfoOK, *_ok, Ext*); invalid → PilotError invalid_argument. */
export function ipcJson(json: Uint8Array): unknown {
  return decodeJson(json);
}

/** JSON.stringify as UTF-8 bytes, for the `json` fields. */
export function jsonBytes(value: unknown): Uint8Array {
  return encodeJson(value);
}

/** Handshake body `node_id u32 ‖ text` (subs SEND, APPROVE, REJECT, REVOKE). */
export function handshakeBody(nodeId: number, text = ''): Uint8Array {
  checkU32('node id', nodeId);
  const t = enc.encode(text);
  const out = new Uint8Array(4 + t.length);
  putU32(out, 0, nodeId);
  out.set(t, 4);
  return out;
}

/** Inverse of `handshakeBody`; `nodeId` is undefined when the body is shorter than 4 bytes. */
export function parseHandshakeBody(body: Uint8Array): { nodeId: number | undefined; text: string } {
  if (body.length < 4) return { nodeId: undefined, text: '' };
  return { nodeId: u32(body, 0), text: dec.decode(body.subarray(4)) };
}

// ---- helpers ---------------------------------------------------------------------------------

function putAddr(b: Uint8Array, o: number, a: Address): void {
  checkU16('network id', a.network);
  checkU32('node id', a.node);
  putU16(b, o, a.network);
  putU32(b, o + 2, a.node);
}
function addr(b: Uint8Array, o: number): Address {
  return { network: u16(b, o), node: u32(b, o + 2) };
}

/** Builds `cmd ‖ fixed(size) ‖ tail`; `fill` writes the fixed part at offset 1. */
function build(cmd: number, size: number, fill: (b: Uint8Array) => void, tail?: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + size + (tail ? tail.length : 0));
  out[0] = cmd;
  fill(out);
  if (tail) out.set(tail, 1 + size);
  return out;
}

const none = (): void => {};

function u16Msg(cmd: number, what: string, v: number): Uint8Array {
  checkU16(what, v);
  return build(cmd, 2, (b) => putU16(b, 1, v));
}
function u32Msg(cmd: number, what: string, v: number, tail?: Uint8Array): Uint8Array {
  checkU32(what, v);
  return build(cmd, 4, (b) => putU32(b, 1, v), tail);
}

// ---- encode ----------------------------------------------------------------------------------

/** Encodes `command byte ‖ payload` (no length prefix; wrap with `encodeFrame`). */
export function encodeIpc(m: IpcMessage): Uint8Array {
  const cmd = IPC_CMD_BYTE[m.cmd];
  switch (m.cmd) {
    case 'bind':
    case 'bind_ok':
      return u16Msg(cmd, 'port', m.port);
    case 'dial':
      checkU16('port', m.port);
      return build(cmd, 8, (b) => {
        putAddr(b, 1, m.addr);
        putU16(b, 7, m.port);
      });
    case 'dial_ok':
    case 'close':
    case 'close_ok':
      return u32Msg(cmd, 'conn id', m.connId);
    case 'accept':
      checkU16('local port', m.localPort);
      checkU32('conn id', m.connId);
      checkU16('remote port', m.remotePort);
      return build(cmd, 14, (b) => {
        putU16(b, 1, m.localPort);
        putU32(b, 3, m.connId);
        putAddr(b, 7, m.remote);
        putU16(b, 13, m.remotePort);
      });
    case 'send':
    case 'recv':
      return u32Msg(cmd, 'conn id', m.connId, m.data);
    case 'error':
      checkU16('error code', m.code);
      return build(cmd, 2, (b) => putU16(b, 1, m.code), enc.encode(m.message));
    case 'send_to':
      checkU16('port', m.port);
      return build(
        cmd,
        8,
        (b) => {
          putAddr(b, 1, m.addr);
          putU16(b, 7, m.port);
        },
        m.data,
      );
    case 'recv_from':
      checkU16('src port', m.srcPort);
      checkU16('dst port', m.dstPort);
      return build(
        cmd,
        10,
        (b) => {
          putAddr(b, 1, m.src);
          putU16(b, 7, m.srcPort);
          putU16(b, 9, m.dstPort);
        },
        m.data,
      );
    case 'info':
    case 'deregister':
      return build(cmd, 0, none);
    case 'handshake':
      if (!Number.isInteger(m.sub) || m.sub < 0 || m.sub > 0xff) {
        throw new PilotError('invalid_argument', `handshake sub-command out of range: ${m.sub}`);
      }
      return build(cmd, 1, (b) => (b[1] = m.sub), m.body);
    case 'resolve_hostname':
    case 'set_hostname':
      return build(cmd, 0, none, enc.encode(m.hostname));
    case 'set_webhook':
      return build(cmd, 0, none, enc.encode(m.url));
    case 'set_visibility':
      return build(cmd, 1, (b) => (b[1] = m.public ? 1 : 0));
    case 'set_task_exec':
      return build(cmd, 1, (b) => (b[1] = m.enabled ? 1 : 0));
    case 'set_tags':
      return build(cmd, 0, none, encodeJson(m.tags));
    case 'info_ok':
    case 'handshake_ok':
    case 'resolve_hostname_ok':
    case 'set_hostname_ok':
    case 'set_visibility_ok':
    case 'deregister_ok':
    case 'set_tags_ok':
    case 'set_webhook_ok':
    case 'set_task_exec_ok':
    case 'ext_event':
      return build(cmd, 0, none, m.json);
    case 'ext_request':
    case 'ext_response':
      return u32Msg(cmd, 'request id', m.requestId, m.json);
  }
}

// ---- decode ----------------------------------------------------------------------------------

function need(msg: Uint8Array, payload: number, name: string): void {
  if (msg.length < 1 + payload) {
    throw new PilotError('short_buffer', `IPC ${name} needs ${payload} payload bytes, have ${msg.length - 1}`);
  }
}

/** Decodes `command byte ‖ payload` (length prefix already removed). */
export function decodeIpc(msg: Uint8Array): IpcMessage {
  if (msg.length < 1) throw new PilotError('short_buffer', 'empty IPC message');
  const byte = msg[0]!;
  const cmd = CMD_NAME.get(byte);
  if (cmd === undefined) {
    throw new PilotError('invalid_argument', `unknown command: 0x${byte.toString(16).padStart(2, '0')}`);
  }
  const rest = msg.subarray(1);
  switch (cmd) {
    case 'bind':
    case 'bind_ok':
      need(msg, 2, cmd);
      return { cmd, port: u16(msg, 1) };
    case 'dial':
      need(msg, 8, cmd);
      return { cmd, addr: addr(msg, 1), port: u16(msg, 7) };
    case 'dial_ok':
    case 'close':
    case 'close_ok':
      need(msg, 4, cmd);
      return { cmd, connId: u32(msg, 1) };
    case 'accept':
      need(msg, 14, cmd);
      return { cmd, localPort: u16(msg, 1), connId: u32(msg, 3), remote: addr(msg, 7), remotePort: u16(msg, 13) };
    case 'send':
    case 'recv':
      need(msg, 4, cmd);
      return { cmd, connId: u32(msg, 1), data: msg.subarray(5) };
    case 'error':
      need(msg, 2, cmd);
      return { cmd, code: u16(msg, 1), message: dec.decode(msg.subarray(3)) };
    case 'send_to':
      need(msg, 8, cmd);
      return { cmd, addr: addr(msg, 1), port: u16(msg, 7), data: msg.subarray(9) };
    case 'recv_from':
      need(msg, 10, cmd);
      return { cmd, src: addr(msg, 1), srcPort: u16(msg, 7), dstPort: u16(msg, 9), data: msg.subarray(11) };
    case 'info':
    case 'deregister':
      return { cmd };
    case 'handshake':
      need(msg, 1, cmd);
      return { cmd, sub: msg[1]!, body: msg.subarray(2) };
    case 'resolve_hostname':
    case 'set_hostname':
      return { cmd, hostname: dec.decode(rest) };
    case 'set_webhook':
      return { cmd, url: dec.decode(rest) };
    case 'set_visibility':
      return { cmd, public: msg[1] === 1 };
    case 'set_task_exec':
      return { cmd, enabled: msg[1] === 1 };
    case 'set_tags': {
      const tags = decodeJson(rest);
      if (!Array.isArray(tags) || !tags.every((t): t is string => typeof t === 'string')) {
        throw new PilotError('invalid_argument', 'set_tags payload must be a JSON array of strings');
      }
      return { cmd, tags };
    }
    case 'info_ok':
    case 'handshake_ok':
    case 'resolve_hostname_ok':
    case 'set_hostname_ok':
    case 'set_visibility_ok':
    case 'deregister_ok':
    case 'set_tags_ok':
    case 'set_webhook_ok':
    case 'set_task_exec_ok':
    case 'ext_event':
      return { cmd, json: rest };
    case 'ext_request':
    case 'ext_response':
      need(msg, 4, cmd);
      return { cmd, requestId: u32(msg, 1), json: msg.subarray(5) };
  }
}
