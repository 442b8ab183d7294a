/**
 * A node's Ed25519 identity and its file (wire.md §8):
 *   {"private_key": b64(seed || public, 64 bytes), "public_key": b64(public, 32 bytes)}
 * written as 2-space-indented JSON with no trailing newline (byte-identical to the reference's
 * output), mode 0600, parent directory created 0700, atomically (temp file + fsync + rename + fsync of
 * the directory: util/atomic-file.ts).
 *
 * The seed is kept in a private class field, so it does not appear in util.inspect / console.log
 * output, and toJSON() exposes only the public key.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { PilotError, isPilotError } from '../../shared/errors';
import { bytesEqual, concatBytes, fromBase64, toBase64, utf8 } from '../util/bytes';
import { writeFileAtomic, writeFileAtomicSync } from '../util/atomic-file';
import { getCrypto } from './backends';
import type { CryptoBackend } from './types';

export class Identity {
  readonly backend: CryptoBackend;
  readonly #seed: Uint8Array;
  readonly #publicKey: Uint8Array;
  readonly #publicKeyBase64: string;

  private constructor(backend: CryptoBackend, seed: Uint8Array, publicKey: Uint8Array) {
    this.backend = backend;
    this.#seed = seed;
    this.#publicKey = publicKey;
    this.#publicKeyBase64 = toBase64(publicKey);
  }

  static generate(backend: CryptoBackend = getCrypto()): Identity {
    const kp = backend.ed25519Generate();
    return new Identity(backend, Uint8Array.from(kp.privateKey), Uint8Array.from(kp.publicKey));
  }

  /** From a 32-byte Ed25519 seed; PilotError('bad_key') for another length. */
  static fromSeed(seed: Uint8Array, backend: CryptoBackend = getCrypto()): Identity {
    if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new PilotError('bad_key', 'Ed25519 seed must be 32 bytes');
    const s = Uint8Array.from(seed);
    return new Identity(backend, s, backend.ed25519PublicKey(s));
  }

  /** The 32-byte public key (a copy). */
  get publicKey(): Uint8Array {
    return Uint8Array.from(this.#publicKey);
  }

  /** Standard base64 with padding (44 chars), as in registry JSON. */
  get publicKeyBase64(): string {
    return this.#publicKeyBase64;
  }

  /** SECRET: the 32-byte seed (a copy). Only identity-file code should need it. */
  get seed(): Uint8Array {
    return Uint8Array.from(this.#seed);
  }

  /** SECRET: the reference's 64-byte private key form, seed || public. */
  privateKey64(): Uint8Array {
    return concatBytes(this.#seed, this.#publicKey);
  }

  /** 64-byte Ed25519 signature over `msg`. */
  sign(msg: Uint8Array): Uint8Array {
    return this.backend.ed25519Sign(this.#seed, msg);
  }

  /** Base64 signature over the UTF-8 bytes of `text` (registry and port-444 challenges). */
  signText(text: string): string {
    return toBase64(this.sign(utf8(text)));
  }

  verify(msg: Uint8Array, signature: Uint8Array): boolean {
    return this.backend.ed25519Verify(this.#publicKey, msg, signature);
  }

  /** Short human form: the first 16 characters of the base64 public key (as `pilotctl info` shows). */
  fingerprint(): string {
    return this.#publicKeyBase64.slice(0, 16);
  }

  toJSON(): { public_key: string } {
    return { public_key: this.#publicKeyBase64 };
  }
}

// ---------------------------------------------------------------------------------------------
// File format (pure)

/** The identity file's exact text (reference format, no trailing newline). */
export function formatIdentityFile(identity: Identity): string {
  return JSON.stringify({ private_key: toBase64(identity.privateKey64()), public_key: identity.publicKeyBase64 }, null, 2);
}

/**
 * Parses and checks an identity file. Malformed JSON / fields / base64 → PilotError('invalid_argument');
 * a private key that is not 64 bytes, a public key that is not 32 bytes, or a public key (either
 * copy) that differs from the one derived from the seed → PilotError('bad_key').
 */
export function parseIdentityFile(text: string, backend: CryptoBackend = getCrypto()): Identity {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new PilotError('invalid_argument', 'identity file is not valid JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new PilotError('invalid_argument', 'identity file must be a JSON object');
  }
  const rec = doc as Record<string, unknown>;
  const priv = rec['private_key'];
  const pub = rec['public_key'];
  if (typeof priv !== 'string' || typeof pub !== 'string') {
    throw new PilotError('invalid_argument', 'identity file needs string fields private_key and public_key');
  }
  const privBytes = fromBase64(priv);
  const pubBytes = fromBase64(pub);
  if (privBytes.length !== 64) throw new PilotError('bad_key', `identity private_key must be 64 bytes, got ${privBytes.length}`);
  if (pubBytes.length !== 32) throw new PilotError('bad_key', `identity public_key must be 32 bytes, got ${pubBytes.length}`);
  const identity = Identity.fromSeed(privBytes.subarray(0, 32), backend);
  const derived = identity.publicKey;
  if (!bytesEqual(derived, pubBytes) || !bytesEqual(derived, privBytes.subarray(32))) {
    throw new PilotError('bad_key', 'identity public key does not match the private key');
  }
  return identity;
}

// ---------------------------------------------------------------------------------------------
// File I/O

/**
 * Writes the identity file atomically and durably (temp file + fsync + rename + fsync of the
 * directory): mode 0600, parent directories created with 0700.
 */
export async function saveIdentity(identity: Identity, path: string): Promise<void> {
  await writeFileAtomic(path, formatIdentityFile(identity), { mode: 0o600 });
}

export function saveIdentitySync(identity: Identity, path: string): void {
  writeFileAtomicSync(path, formatIdentityFile(identity), { mode: 0o600 });
}

/** Reads and validates an identity file (see parseIdentityFile); a missing file → PilotError('not_found'). */
export async function loadIdentity(path: string, backend: CryptoBackend = getCrypto()): Promise<Identity> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw fileError(e, path);
  }
  return parseIdentityFile(text, backend);
}

export function loadIdentitySync(path: string, backend: CryptoBackend = getCrypto()): Identity {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw fileError(e, path);
  }
  return parseIdentityFile(text, backend);
}

/**
 * Loads the identity at `path`, or generates and saves a new one when the file does not exist.
 * An existing but invalid file is an error (never silently replaced: it is the node's identity).
 */
export async function loadOrCreateIdentity(
  path: string,
  backend: CryptoBackend = getCrypto(),
): Promise<{ identity: Identity; created: boolean }> {
  try {
    return { identity: await loadIdentity(path, backend), created: false };
  } catch (e) {
    if (!isPilotError(e, 'not_found')) throw e;
  }
  const identity = Identity.generate(backend);
  await saveIdentity(identity, path);
  return { identity, created: true };
}

export function loadOrCreateIdentitySync(path: string, backend: CryptoBackend = getCrypto()): { identity: Identity; created: boolean } {
  try {
    return { identity: loadIdentitySync(path, backend), created: false };
  } catch (e) {
    if (!isPilotError(e, 'not_found')) throw e;
  }
  const identity = Identity.generate(backend);
  saveIdentitySync(identity, path);
  return { identity, created: true };
}

function fileError(e: unknown, path: string): PilotError {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT') return new PilotError('not_found', `identity file not found: ${path}`);
  if (code === 'EACCES' || code === 'EPERM') return new PilotError('permission_denied', `cannot read identity file: ${path}`);
  return new PilotError('internal', `cannot read identity file ${path}: ${e instanceof Error ? e.message : String(e)}`);
}
