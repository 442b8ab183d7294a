import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// Issue 10: the type-aware rule that keeps promises started by inbound traffic from floating in main/.
// The text is linted as if it were an existing file of main/ (the rule needs a real TS program).
const root = path.resolve(import.meta.dirname, '..');
const eslint = new ESLint({ cwd: root });
const lint = async (code: string): Promise<string[]> => {
  const [res] = await eslint.lintText(code, { filePath: path.join(root, 'main/util/random.ts') });
  return (res?.messages ?? []).filter((m) => m.ruleId === '@typescript-eslint/no-floating-promises').map((m) => m.message);
};
const header = 'async function work(): Promise<number> { return 1; }\n';

describe('no floating promises in main/', () => {
  it('flags a promise left alone, and one only voided', async () => {
    expect(await lint(`${header}export function a(): void { work(); }\n`)).toHaveLength(1);
    expect(await lint(`${header}export function b(): void { void work(); }\n`)).toHaveLength(1);
  }, 60_000);
  it('accepts a promise that is awaited or ends in a catch', async () => {
    expect(await lint(`${header}export async function c(): Promise<void> { await work(); }\nexport function d(): void { work().catch(() => undefined); }\n`)).toEqual([]);
  }, 60_000);
});
