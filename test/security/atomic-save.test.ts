import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseIdentityFile } from '../../main/crypto';
import { identityForSave } from './atomic-save-child';

// Issue 10, crash safety of a node's own files: a child saves identity.key (sync and async forms)
// and trust.json as fast as it can and is killed with SIGKILL at a random point; each file must then
// hold a complete version — the last one the child reported saved, or the one in flight — never a
// torn or empty one. (SIGKILL leaves the page cache alone, so this checks write + rename ordering;
// the fsyncs of the file and the directory are for power loss, which a test cannot cause.)
const CHILD = fileURLToPath(new URL('./atomic-save-child.ts', import.meta.url));
const KILLS = Number(process.env['PILOT_ATOMIC_KILLS'] ?? 15);

interface Outcome {
  identity: number; // last save reported
  trust: number;
}

/** Runs the child until it has reported at least `saves` identity saves and `saves` trust saves, then SIGKILLs it. */
function runAndKill(dir: string, run: number, saves: number): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(run)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const last: Outcome = { identity: 0, trust: 0 };
    let buf = '';
    let err = '';
    let killed = false;
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    proc.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        const [k, n] = l.split(' ');
        if (k === 'I') last.identity = Number(n);
        if (k === 'T') last.trust = Number(n);
      }
      if (!killed && last.identity >= saves && last.trust >= saves) {
        killed = true;
        proc.kill('SIGKILL');
      }
    });
    // 'close' (not 'exit'): every line written before the kill has been read by then.
    proc.once('close', (code, signal) => {
      if (signal === 'SIGKILL') resolve(last);
      else reject(new Error(`child ended without SIGKILL (${signal ?? code}): ${err}`));
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'pilot-atomic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('identity.key and trust.json under SIGKILL', () => {
  it(`are always the old or the new complete file (${KILLS} kills at random points)`, async () => {
    let trustBefore = 0;
    const torn: string[] = [];
    for (let run = 1; run <= KILLS; run++) {
      const saves = 2 + Math.floor(Math.random() * 40);
      const last = await runAndKill(dir, run, saves);

      // identity.key: parses (the public key matches the seed, so a mix of two files fails) and is
      // the last reported save or the one after it.
      const text = readFileSync(join(dir, 'identity.key'), 'utf8');
      let key = '';
      try {
        key = parseIdentityFile(text).publicKeyBase64;
      } catch (e) {
        torn.push(`run ${run}: identity.key ${String(e)}: ${JSON.stringify(text.slice(0, 80))}`);
      }
      const ok = [identityForSave(run, last.identity).publicKeyBase64, identityForSave(run, last.identity + 1).publicKeyBase64];
      if (key !== '' && !ok.includes(key)) torn.push(`run ${run}: identity.key is not save ${last.identity} or ${last.identity + 1}`);

      // trust.json: JSON with the reported number of trusted peers or one more (counting on from the last run).
      const ttext = readFileSync(join(dir, 'trust.json'), 'utf8');
      let n = -1;
      try {
        n = (JSON.parse(ttext) as { trusted: unknown[] }).trusted.length;
      } catch (e) {
        torn.push(`run ${run}: trust.json ${String(e)} (${ttext.length} bytes)`);
      }
      if (n !== -1 && n !== last.trust && n !== last.trust + 1) torn.push(`run ${run}: trust.json has ${n} peers, reported ${last.trust}`);
      expect(last.trust).toBeGreaterThan(trustBefore);
      trustBefore = n;
    }
    expect(torn).toEqual([]);
    // The child never found a corrupt trust.json at start (it would have moved it aside).
    const names = readdirSync(dir);
    expect(names.filter((f) => f.endsWith('.corrupt'))).toEqual([]);
    console.log(`atomic saves: ${KILLS} kills, torn files 0, trust.json reached ${trustBefore} peers, stray temp files ${names.filter((f) => f.includes('.tmp-')).length}`);
  }, 300_000);
});
