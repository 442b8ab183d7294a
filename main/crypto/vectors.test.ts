/**
 * Fixed byte vectors from test/fixtures/test-vectors.json (copy of ../shared/pilot-protocol/test-vectors.json,
 * computed independently with node:crypto), run through BOTH backends; each backend must match the
 * vector, hence each other.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromBase64, fromHex, toBase64, toHex, utf8 } from '../util/bytes';
import { allBackends } from './backends';
import { Identity, formatIdentityFile, parseIdentityFile } from './identity';
import { pilaChallenge, signPila, verifyPila } from './pila';
import { challenge, verifyText } from './signatures';
import { TunnelCipher, deriveSecureChannelKey, deriveTunnelKey } from './tunnel';

interface NodeKeys {
  node_id: number;
  x25519_private_hex: string;
  x25519_public_hex: string;
  ed25519_seed_hex: string;
  ed25519_public_hex: string;
  ed25519_public_b64: string;
}
interface SignedRegistryMsg {
  signed_string: string;
  json: string;
}
interface Vectors {
  keys: {
    node5: NodeKeys;
    node7: NodeKeys;
    x25519_shared_secret_hex: string;
    tunnel_aes256_key_hex: string;
    secure_channel_aes256_key_hex: string;
  };
  tunnel_keyex_PILA: { signed_challenge_hex: string; signature_hex: string; bytes_hex: string };
  tunnel_encrypted_PILS: {
    aes256_key_hex: string;
    nonce_hex: string;
    plaintext_hex: string;
    ciphertext_hex: string;
    gcm_tag_hex: string;
    bytes_hex: string;
  };
  registry: Record<string, unknown>;
  handshake_port444_request: { signed_string: string; json: string };
  identity_file_example: { content: string };
  secure_channel_443: { client_first_write_hex: string; server_first_write_hex: string; record_hex: string };
}

const V = (
  JSON.parse(readFileSync(new URL('../../test/fixtures/test-vectors.json', import.meta.url), 'utf8')) as { vectors: Vectors }
).vectors;
const { node5, node7 } = V.keys;
const nodes: Record<number, NodeKeys> = { 5: node5, 7: node7 };

const registrySigned: [string, SignedRegistryMsg][] = Object.entries(V.registry).filter(
  (e): e is [string, SignedRegistryMsg] => typeof e[1] === 'object' && e[1] !== null && 'signed_string' in e[1],
);

/** The signer of a registry challenge is the first id in it (README.md §6). */
function signerOf(signed: string): NodeKeys {
  const id = Number(signed.split(':')[1]);
  const k = nodes[id];
  if (k === undefined) throw new Error(`no test key for node ${id}`);
  return k;
}

const backends = allBackends();

describe.each(backends.map((b) => [b.name, b] as const))('vectors with the %s backend', (_name, backend) => {
  it('derives the X25519 public keys of node5 and node7', () => {
    for (const n of [node5, node7]) {
      expect(toHex(backend.x25519PublicKey(fromHex(n.x25519_private_hex)))).toBe(n.x25519_public_hex);
    }
  });

  it('computes the same X25519 shared secret from both sides', () => {
    const a = backend.x25519(fromHex(node5.x25519_private_hex), fromHex(node7.x25519_public_hex));
    const b = backend.x25519(fromHex(node7.x25519_private_hex), fromHex(node5.x25519_public_hex));
    expect(toHex(a)).toBe(V.keys.x25519_shared_secret_hex);
    expect(toHex(b)).toBe(V.keys.x25519_shared_secret_hex);
  });

  it('derives the tunnel and secure-channel keys', () => {
    const secret = fromHex(V.keys.x25519_shared_secret_hex);
    expect(toHex(deriveTunnelKey(backend, secret))).toBe(V.keys.tunnel_aes256_key_hex);
    expect(toHex(deriveSecureChannelKey(backend, secret))).toBe(V.keys.secure_channel_aes256_key_hex);
    expect(V.tunnel_encrypted_PILS.aes256_key_hex).toBe(V.keys.tunnel_aes256_key_hex);
  });

  it('derives the Ed25519 public keys from the seeds', () => {
    for (const n of [node5, node7]) {
      const pub = backend.ed25519PublicKey(fromHex(n.ed25519_seed_hex));
      expect(toHex(pub)).toBe(n.ed25519_public_hex);
      const id = Identity.fromSeed(fromHex(n.ed25519_seed_hex), backend);
      expect(id.publicKeyBase64).toBe(n.ed25519_public_b64);
      expect(id.fingerprint()).toBe(n.ed25519_public_b64.slice(0, 16));
    }
  });

  it('builds the PILA challenge and reproduces its signature', () => {
    const x5 = fromHex(node5.x25519_public_hex);
    expect(toHex(pilaChallenge(5, x5))).toBe(V.tunnel_keyex_PILA.signed_challenge_hex);
    const id5 = Identity.fromSeed(fromHex(node5.ed25519_seed_hex), backend);
    const sig = signPila(id5, 5, x5);
    expect(toHex(sig)).toBe(V.tunnel_keyex_PILA.signature_hex);
    expect(verifyPila(backend, fromHex(node5.ed25519_public_hex), 5, x5, fromHex(V.tunnel_keyex_PILA.signature_hex))).toBe(true);
    // The 136-byte frame carries exactly these pieces.
    const frame = V.tunnel_keyex_PILA.bytes_hex;
    expect(frame.slice(16, 80)).toBe(node5.x25519_public_hex);
    expect(frame.slice(80, 144)).toBe(node5.ed25519_public_hex);
    expect(frame.slice(144)).toBe(V.tunnel_keyex_PILA.signature_hex);
  });

  it.each(registrySigned)('reproduces and verifies the registry signature in %s', (_key, msg) => {
    const doc = JSON.parse(msg.json) as { signature: string };
    const signer = signerOf(msg.signed_string);
    const id = Identity.fromSeed(fromHex(signer.ed25519_seed_hex), backend);
    expect(id.signText(msg.signed_string)).toBe(doc.signature);
    expect(verifyText(backend, signer.ed25519_public_b64, msg.signed_string, doc.signature)).toBe(true);
    expect(verifyText(backend, fromHex(signer.ed25519_public_hex), msg.signed_string, doc.signature)).toBe(true);
    expect(verifyText(backend, signer.ed25519_public_b64, `${msg.signed_string}0`, doc.signature)).toBe(false);
    const other = signer === node5 ? node7 : node5;
    expect(verifyText(backend, other.ed25519_public_b64, msg.signed_string, doc.signature)).toBe(false);
    const sig = fromBase64(doc.signature);
    sig[10] = (sig[10] ?? 0) ^ 0x01;
    expect(verifyText(backend, signer.ed25519_public_b64, msg.signed_string, toBase64(sig))).toBe(false);
  });

  it('reproduces the port-444 handshake_request signature', () => {
    const v = V.handshake_port444_request;
    const doc = JSON.parse(v.json) as { node_id: number; public_key: string; signature: string };
    expect(challenge.handshake(5, 7)).toBe(v.signed_string);
    const id = Identity.fromSeed(fromHex(node5.ed25519_seed_hex), backend);
    expect(id.signText(v.signed_string)).toBe(doc.signature);
    expect(verifyText(backend, doc.public_key, v.signed_string, doc.signature)).toBe(true);
    expect(verifyText(backend, doc.public_key, challenge.handshake(7, 5), doc.signature)).toBe(false);
  });

  it('seals the PILS vector to the exact bytes and opens it', () => {
    const v = V.tunnel_encrypted_PILS;
    const tc = new TunnelCipher(backend, fromHex(v.aes256_key_hex), fromHex('a1b2c3d4'));
    const plaintext = fromHex(v.plaintext_hex);
    const { nonce, sealed } = tc.seal(plaintext);
    expect(toHex(nonce)).toBe(v.nonce_hex);
    expect(toHex(sealed)).toBe(v.ciphertext_hex + v.gcm_tag_hex);
    expect(tc.sent).toBe(1);

    // Zero-copy variant writes the PILS layout after "PILS" + sender id.
    const tc2 = new TunnelCipher(backend, fromHex(v.aes256_key_hex), fromHex('a1b2c3d4'));
    const frame = new Uint8Array(8 + 12 + plaintext.length + 16);
    frame.set(fromHex('50494c5300000005'), 0);
    expect(tc2.sealInto(plaintext, frame, 8)).toBe(frame.length - 8);
    expect(toHex(frame)).toBe(v.bytes_hex);

    const rx = new TunnelCipher(backend, fromHex(v.aes256_key_hex), fromHex('00000000'));
    const bytes = fromHex(v.bytes_hex);
    expect(toHex(rx.open(bytes.subarray(8, 20), bytes.subarray(20)))).toBe(v.plaintext_hex);
    expect(rx.received).toBe(1);
    expect(rx.receiveMax).toBe(1);
  });

  it('reproduces the port-443 secure-channel record for "hello"', () => {
    const v = V.secure_channel_443;
    // Client is node5, server node7 (the first writes are their X25519 publics).
    expect(v.client_first_write_hex).toBe(node5.x25519_public_hex);
    expect(v.server_first_write_hex).toBe(node7.x25519_public_hex);
    const secret = backend.x25519(fromHex(node5.x25519_private_hex), fromHex(v.server_first_write_hex));
    const key = deriveSecureChannelKey(backend, secret);
    const client = new TunnelCipher(backend, key, fromHex('00000002'));
    const { nonce, sealed } = client.seal(utf8('hello'));
    const body = new Uint8Array(nonce.length + sealed.length);
    body.set(nonce, 0);
    body.set(sealed, nonce.length);
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, body.length);
    expect(toHex(len) + toHex(body)).toBe(v.record_hex);
    // The server opens it with its own side of the exchange.
    const serverKey = deriveSecureChannelKey(backend, backend.x25519(fromHex(node7.x25519_private_hex), fromHex(v.client_first_write_hex)));
    const server = new TunnelCipher(backend, serverKey, fromHex('00000001'));
    const rec = fromHex(v.record_hex);
    expect(new TextDecoder().decode(server.open(rec.subarray(4, 16), rec.subarray(16)))).toBe('hello');
  });

  it('loads the identity file example to node5 and writes it back byte for byte', () => {
    const content = V.identity_file_example.content;
    const id = parseIdentityFile(content, backend);
    expect(toHex(id.seed)).toBe(node5.ed25519_seed_hex);
    expect(id.publicKeyBase64).toBe(node5.ed25519_public_b64);
    // No trailing newline: the reference writes json.MarshalIndent output as is.
    expect(formatIdentityFile(Identity.fromSeed(fromHex(node5.ed25519_seed_hex), backend))).toBe(content);
  });
});

describe('vectors: every registry signed message is covered', () => {
  it('finds the signed registry messages and their signers', () => {
    expect(registrySigned.map(([k]) => k).sort()).toEqual([
      'heartbeat_request',
      'report_trust_request',
      'request_handshake_request',
      'resolve_request',
      'respond_handshake_request_by_node7',
    ]);
    expect(registrySigned.find(([k]) => k === 'respond_handshake_request_by_node7')?.[1].signed_string).toBe(challenge.respond(7, 5));
    expect(registrySigned.find(([k]) => k === 'resolve_request')?.[1].signed_string).toBe(challenge.resolve(5, 7));
    expect(registrySigned.find(([k]) => k === 'report_trust_request')?.[1].signed_string).toBe(challenge.reportTrust(5, 7));
    expect(registrySigned.find(([k]) => k === 'heartbeat_request')?.[1].signed_string).toBe(challenge.heartbeat(5));
    expect(registrySigned.find(([k]) => k === 'request_handshake_request')?.[1].signed_string).toBe(challenge.handshake(5, 7));
  });
});
