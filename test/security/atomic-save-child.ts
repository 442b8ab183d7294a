/**
 * Child for atomic-save.test.ts: `node --import tsx atomic-save-child.ts <dir> <run>` saves the
 * node's identity.key and trust.json in <dir> over and over, the way the daemon does, and prints
 * one line per completed save until it is killed:
 *   `I <n>`  identity.key now holds identityForSave(run, n) (odd n: saveIdentitySync, even: saveIdentity)
 *   `T <n>`  trust.json now lists n trusted peers (one added per save)
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Identity, saveIdentity, saveIdentitySync } from '../../main/crypto';
import { TrustStore } from '../../main/node/services/trust-store';

/** The identity the child saves as its `n`th save of run `run` (deterministic, so the parent can check). */
export function identityForSave(run: number, n: number): Identity {
  return Identity.fromSeed(Uint8Array.from(createHash('sha256').update(`atomic-save ${run} ${n}`).digest()));
}

const [dir, runArg] = process.argv.slice(2);
if (dir !== undefined && runArg !== undefined && process.argv[1]?.endsWith('atomic-save-child.ts')) {
  const run = Number(runArg);
  const keyFile = join(dir, 'identity.key');
  const trust = await TrustStore.load(join(dir, 'trust.json'));
  const pad = 'k'.repeat(44);
  let nextPeer = trust.listTrusted().reduce((m, p) => Math.max(m, p.nodeId), 0) + 1;
  const identities = async (): Promise<void> => {
    for (let n = 1; ; n++) {
      const id = identityForSave(run, n);
      if (n % 2 === 1) saveIdentitySync(id, keyFile);
      else await saveIdentity(id, keyFile);
      process.stdout.write(`I ${n}\n`);
    }
  };
  const trusts = async (): Promise<void> => {
    for (;;) {
      trust.setTrusted({ nodeId: nextPeer++, publicKey: pad, approvedAt: Date.now(), mutual: false, network: 0 });
      await trust.save();
      process.stdout.write(`T ${trust.listTrusted().length}\n`);
    }
  };
  await Promise.all([identities(), trusts()]);
}
