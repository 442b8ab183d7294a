import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { fromHex, toBase64 } from '../util/bytes';
import { allBackends } from './backends';
import {
  Identity,
  formatIdentityFile,
  loadIdentity,
  loadIdentitySync,
  loadOrCreateIdentity,
  loadOrCreateIdentitySync,
  parseIdentityFile,
  saveIdentity,
} from './identity';

const SEED5 = fromHex('8182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0');
const PUB5_B64 = 'AgvUJ0RrcjQk2A0srTUro982SdDvj6rgyn6yVEOUGyk=';
const SEED7 = fromHex('c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0');

const root = mkdtempSync(join(tmpdir(), 'pilot-crypto-identity-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(root, `case${n++}`);

describe.each(allBackends().map((b) => [b.name, b] as const))('identity file with the %s backend', (_name, backend) => {
  it('saves atomically with mode 0600 in a new 0700 directory, and loads back', async () => {
    const dir = join(fresh(), 'nested', '.pilot');
    const path = join(dir, 'identity.key');
    const id = Identity.fromSeed(SEED5, backend);
    await saveIdentity(id, path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readdirSync(dir)).toEqual(['identity.key']); // no temp file left behind
    expect(readFileSync(path, 'utf8')).toBe(formatIdentityFile(id));
    const back = await loadIdentity(path, backend);
    expect(back.publicKeyBase64).toBe(PUB5_B64);
    expect(loadIdentitySync(path, backend).publicKeyBase64).toBe(PUB5_B64);
    // Overwrite keeps the mode.
    await saveIdentity(Identity.fromSeed(SEED7, backend), path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect((await loadIdentity(path, backend)).fingerprint()).toBe('dSnEVtk40rj+kPps');
  });

  it('loadOrCreateIdentity creates once, then loads the same identity', async () => {
    const path = join(fresh(), 'identity.key');
    const first = await loadOrCreateIdentity(path, backend);
    expect(first.created).toBe(true);
    const second = await loadOrCreateIdentity(path, backend);
    expect(second.created).toBe(false);
    expect(second.identity.publicKeyBase64).toBe(first.identity.publicKeyBase64);
    const third = loadOrCreateIdentitySync(path, backend);
    expect(third.created).toBe(false);
    expect(third.identity.publicKeyBase64).toBe(first.identity.publicKeyBase64);
    const sync = loadOrCreateIdentitySync(join(fresh(), 'x', 'identity.key'), backend);
    expect(sync.created).toBe(true);
  });

  it('does not replace an existing invalid identity file', async () => {
    const path = join(fresh(), 'identity.key');
    await saveIdentity(Identity.fromSeed(SEED5, backend), path);
    writeFileSync(path, '{"private_key": "nope"');
    await expect(loadOrCreateIdentity(path, backend)).rejects.toMatchObject({ code: 'invalid_argument' });
    expect(readFileSync(path, 'utf8')).toBe('{"private_key": "nope"');
  });

  it('missing file → not_found', async () => {
    await expect(loadIdentity(join(fresh(), 'none.key'), backend)).rejects.toMatchObject({ code: 'not_found' });
    expect(() => loadIdentitySync(join(fresh(), 'none.key'), backend)).toThrow(expect.objectContaining({ code: 'not_found' }));
  });

  const priv64 = toBase64(new Uint8Array([...SEED5, ...fromHex('020bd427446b723424d80d2cad352ba3df3649d0ef8faae0ca7eb25443941b29')]));
  const otherPub = Identity.fromSeed(SEED7, backend).publicKeyBase64;
  it.each<[string, string, string]>([
    ['not JSON', '{', 'invalid_argument'],
    ['an array', '[]', 'invalid_argument'],
    ['null', 'null', 'invalid_argument'],
    ['missing public_key', JSON.stringify({ private_key: priv64 }), 'invalid_argument'],
    ['numeric private_key', JSON.stringify({ private_key: 5, public_key: PUB5_B64 }), 'invalid_argument'],
    ['bad base64', JSON.stringify({ private_key: 'a*b=', public_key: PUB5_B64 }), 'invalid_argument'],
    ['32-byte private key', JSON.stringify({ private_key: toBase64(SEED5), public_key: PUB5_B64 }), 'bad_key'],
    ['31-byte public key', JSON.stringify({ private_key: priv64, public_key: toBase64(new Uint8Array(31)) }), 'bad_key'],
    ['mismatched public key', JSON.stringify({ private_key: priv64, public_key: otherPub }), 'bad_key'],
    [
      'mismatched second half of the private key',
      JSON.stringify({ private_key: toBase64(new Uint8Array([...SEED5, ...new Uint8Array(32)])), public_key: PUB5_B64 }),
      'bad_key',
    ],
  ])('rejects %s', (_what, text, code) => {
    expect(() => parseIdentityFile(text, backend)).toThrow(expect.objectContaining({ code }));
  });

  it('parses the well-formed form of the same file', () => {
    expect(parseIdentityFile(JSON.stringify({ private_key: priv64, public_key: PUB5_B64 }), backend).publicKeyBase64).toBe(PUB5_B64);
  });
});

describe('Identity', () => {
  it('signs, verifies and keeps its seed out of logs', () => {
    const id = Identity.generate();
    const msg = Uint8Array.of(9, 9, 9);
    expect(id.verify(msg, id.sign(msg))).toBe(true);
    expect(id.publicKey.length).toBe(32);
    expect(id.seed.length).toBe(32);
    expect(id.privateKey64().length).toBe(64);
    expect(JSON.stringify(id)).toBe(JSON.stringify({ public_key: id.publicKeyBase64 }));
    const shown = inspect(id, { depth: 5 });
    expect(shown).not.toContain(toBase64(id.seed));
    expect(shown).not.toMatch(/seed/);
    // Returned keys are copies.
    id.publicKey.fill(0);
    expect(id.publicKey.some((x) => x !== 0)).toBe(true);
  });

  it('fromSeed refuses a seed of the wrong length', () => {
    expect(() => Identity.fromSeed(new Uint8Array(64))).toThrow(expect.objectContaining({ code: 'bad_key' }));
  });
});
