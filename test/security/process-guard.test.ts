import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CHILD = fileURLToPath(new URL('./guard-child.ts', import.meta.url));
const run = (mode: string): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CHILD, mode], { timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });

describe('process guard (daemon, backbone and console processes)', () => {
  it('an unhandled rejection is logged with its stack and the process keeps running', async () => {
    const r = await run('reject');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('still serving');
    const rec = JSON.parse(r.stderr.trim().split('\n').find((l) => l.includes('unhandled promise rejection'))!) as Record<string, string>;
    expect(rec['level']).toBe('error');
    expect(rec['error']).toBe('boom from a continuation');
    expect(rec['stack']).toContain('guard-child.ts');
  });

  it('an uncaught exception is fatal: logged with its stack, graceful stop, exit status 70', async () => {
    const r = await run('throw');
    expect(r.code).toBe(70);
    expect(r.stdout).toContain('graceful stop ran');
    expect(r.stderr).toContain('uncaught exception: stopping (fatal)');
    expect(r.stderr).toContain('boom from a timer');
  });
});
