/**
 * Tunnel and port-443 key derivation, and the per-peer PILS cipher state (wire.md §6).
 *
 * Nonce = prefix(4) || u64 BE counter; the send counter starts at 1. The receive side decrypts
 * first and only then consults the replay state (the option wire.md §6.1 recommends), so a forged
 * frame can neither mark nor unmark a counter. Replay state is kept per nonce prefix
 * (PrefixReplayGuard): a peer that re-derives (new prefix, counter back to 1, wire.md §6.2) is
 * accepted at once, and a frame recorded under an earlier, retired prefix stays refused.
 */
import { PilotError } from '../../shared/errors';
import { PrefixReplayGuard, readCounter, readPrefix, writeCounter } from './replay';
import { AEAD_NONCE_LENGTH, AEAD_TAG_LENGTH, type Aead, type CryptoBackend } from './types';

const TUNNEL_LABEL = new TextEncoder().encode('pilot-tunnel-v1:');
const SECURE_LABEL = new TextEncoder().encode('pilot-secure-v1:');

export const NONCE_PREFIX_LENGTH = 4;

/** AES-256 key for PILS frames: SHA-256("pilot-tunnel-v1:" || X25519 secret). No HKDF, no salt. */
export function deriveTunnelKey(backend: CryptoBackend, sharedSecret: Uint8Array): Uint8Array {
  if (sharedSecret.length !== 32) throw new PilotError('bad_key', 'X25519 shared secret must be 32 bytes');
  return backend.sha256(TUNNEL_LABEL, sharedSecret);
}

/** AES-256 key for the port-443 secure channel: SHA-256("pilot-secure-v1:" || X25519 secret). */
export function deriveSecureChannelKey(backend: CryptoBackend, sharedSecret: Uint8Array): Uint8Array {
  if (sharedSecret.length !== 32) throw new PilotError('bad_key', 'X25519 shared secret must be 32 bytes');
  return backend.sha256(SECURE_LABEL, sharedSecret);
}

export interface SealedFrame {
  /** 12 bytes: prefix || counter. */
  readonly nonce: Uint8Array;
  /** ciphertext || 16-byte tag. */
  readonly sealed: Uint8Array;
}

export interface TunnelCipherOptions {
  /** 4-byte send prefix; random by default (fixed only in tests). */
  prefix?: Uint8Array;
  /** First send counter (default 1). */
  firstCounter?: number;
  /** Live per-prefix windows kept (default 4); older prefixes are refused for good. */
  activePrefixes?: number;
  /** Retired prefixes remembered under this key (default 4096); past that, new prefixes are refused. */
  maxRetiredPrefixes?: number;
}

export interface TunnelCipherStats {
  sent: number;
  received: number;
  replayed: number;
  badTag: number;
}

const REPLAY_MESSAGE = {
  replay: 'PILS counter replayed',
  too_old: 'PILS counter too old for the replay window',
  retired_prefix: 'PILS nonce prefix retired (a frame recorded under an earlier prefix)',
  own_prefix: 'PILS frame carries our own nonce prefix (reflected)',
  prefixes_exhausted: 'PILS nonce prefixes exhausted under this key; re-key',
} as const;

/** Per-peer PILS state: one key (both directions), own prefix and send counter, receive window. */
export class TunnelCipher {
  readonly prefix: Uint8Array;
  private readonly aead: Aead;
  private readonly window: PrefixReplayGuard;
  private nextCounter: number;
  private nSent = 0;
  private nReceived = 0;
  private nReplayed = 0;
  private nBadTag = 0;

  constructor(backend: CryptoBackend, key: Uint8Array, prefixOrOptions?: Uint8Array | TunnelCipherOptions) {
    const opts: TunnelCipherOptions = prefixOrOptions instanceof Uint8Array ? { prefix: prefixOrOptions } : (prefixOrOptions ?? {});
    const prefix = opts.prefix ?? backend.randomBytes(NONCE_PREFIX_LENGTH);
    if (prefix.length !== NONCE_PREFIX_LENGTH) throw new PilotError('invalid_argument', 'nonce prefix must be 4 bytes');
    this.prefix = Uint8Array.from(prefix);
    const first = opts.firstCounter ?? 1;
    if (!Number.isSafeInteger(first) || first < 0) throw new PilotError('invalid_argument', 'firstCounter must be a safe non-negative integer');
    this.nextCounter = first;
    this.window = new PrefixReplayGuard(readPrefix(this.prefix), opts.activePrefixes, opts.maxRetiredPrefixes);
    this.aead = backend.aead(key);
  }

  /** Counter the next sealed frame will carry. */
  get nextSendCounter(): number {
    return this.nextCounter;
  }
  /** Highest counter accepted from the peer under its latest prefix (0 = none). */
  get receiveMax(): number {
    return this.window.max;
  }
  /** No new peer prefix can be accepted under this key any more: the session must re-key. */
  get prefixesExhausted(): boolean {
    return this.window.exhausted;
  }
  get sent(): number {
    return this.nSent;
  }
  get received(): number {
    return this.nReceived;
  }
  get replayed(): number {
    return this.nReplayed;
  }
  get badTag(): number {
    return this.nBadTag;
  }
  get stats(): TunnelCipherStats {
    return { sent: this.nSent, received: this.nReceived, replayed: this.nReplayed, badTag: this.nBadTag };
  }

  /** Encrypts one frame body with the next nonce. */
  seal(plaintext: Uint8Array): SealedFrame {
    const nonce = this.takeNonce();
    const sealed = this.aead.seal(nonce, plaintext);
    this.nSent++;
    return { nonce, sealed };
  }

  /**
   * Writes nonce(12) || ciphertext || tag into `out` at `offset` — the PILS layout after the 8-byte
   * "PILS" + sender id — and returns the bytes written (12 + plaintext.length + 16).
   */
  sealInto(plaintext: Uint8Array, out: Uint8Array, offset: number): number {
    const total = AEAD_NONCE_LENGTH + plaintext.length + AEAD_TAG_LENGTH;
    if (offset < 0 || offset + total > out.length) throw new PilotError('short_buffer', 'sealInto: output buffer too small');
    const nonce = out.subarray(offset, offset + AEAD_NONCE_LENGTH);
    nonce.set(this.prefix, 0);
    writeCounter(nonce, NONCE_PREFIX_LENGTH, this.bumpCounter());
    this.aead.sealInto(nonce, plaintext, out, offset + AEAD_NONCE_LENGTH);
    this.nSent++;
    return total;
  }

  /**
   * Seals one frame body as pieces for a scatter-gather send, with no copy of the plaintext-sized
   * data: writes the next nonce into `head` at `nonceOffset` (the PILS layout: `head` is
   * "PILS" ‖ sender ‖ nonce) and returns [head, ...ciphertext || tag pieces]. Same bytes, same
   * counter use as `sealInto`.
   */
  sealParts(plaintext: Uint8Array, head: Uint8Array, nonceOffset: number): Uint8Array[] {
    if (nonceOffset < 0 || nonceOffset + AEAD_NONCE_LENGTH > head.length) throw new PilotError('short_buffer', 'sealParts: head too small for the nonce');
    const nonce = head.subarray(nonceOffset, nonceOffset + AEAD_NONCE_LENGTH);
    nonce.set(this.prefix, 0);
    writeCounter(nonce, NONCE_PREFIX_LENGTH, this.bumpCounter());
    const parts = this.aead.sealParts(nonce, plaintext);
    this.nSent++;
    return [head, ...parts];
  }

  /**
   * Decrypts, then applies the replay window. Throws PilotError('bad_tag') when authentication
   * fails (window untouched) and PilotError('replay') for a replayed or too-old counter.
   */
  open(nonce: Uint8Array, sealed: Uint8Array): Uint8Array {
    if (nonce.length !== AEAD_NONCE_LENGTH) throw new PilotError('invalid_argument', 'nonce must be 12 bytes');
    let plaintext: Uint8Array;
    try {
      plaintext = this.aead.open(nonce, sealed);
    } catch (e) {
      this.nBadTag++;
      throw e;
    }
    const verdict = this.window.checkAndAccept(readPrefix(nonce), readCounter(nonce, NONCE_PREFIX_LENGTH));
    if (verdict !== 'ok') {
      this.nReplayed++;
      throw new PilotError('replay', REPLAY_MESSAGE[verdict]);
    }
    this.nReceived++;
    return plaintext;
  }

  /**
   * Forgets all receive state. Only safe when no frame sealed under this key can arrive again
   * (tests); the tunnel never calls it: a new key gets a new TunnelCipher.
   */
  resetReceiveWindow(): void {
    this.window.reset();
  }

  private bumpCounter(): number {
    const c = this.nextCounter;
    if (c > Number.MAX_SAFE_INTEGER - 1) throw new PilotError('invalid_state', 'tunnel send counter exhausted; re-key');
    this.nextCounter = c + 1;
    return c;
  }

  private takeNonce(): Uint8Array {
    const nonce = new Uint8Array(AEAD_NONCE_LENGTH);
    nonce.set(this.prefix, 0);
    writeCounter(nonce, NONCE_PREFIX_LENGTH, this.bumpCounter());
    return nonce;
  }
}
